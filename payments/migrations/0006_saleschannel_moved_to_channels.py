"""SalesChannel moved to the channels app (same table): this app's foreign keys now
name channels.SalesChannel. State only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("payments", "0005_payment_link_idempotency_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="paymentlink",
                    name="channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="created on",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
