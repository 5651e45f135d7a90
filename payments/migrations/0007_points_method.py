"""Loyalty points become a payment method (payments.gateways.points): choices only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0006_saleschannel_moved_to_channels'),
    ]

    operations = [
        migrations.AlterField(
            model_name='payment',
            name='method',
            field=models.CharField(choices=[('cash', 'cash'), ('card_terminal', 'card (payment terminal)'), ('card_online', 'card (online)'), ('gift_card', 'gift card'), ('store_credit', 'store credit'), ('points', 'loyalty points'), ('payment_link', 'payment link'), ('instalment', 'instalment plan')], max_length=20, verbose_name='method'),
        ),
    ]
