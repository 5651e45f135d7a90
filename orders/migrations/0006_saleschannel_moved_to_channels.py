"""SalesChannel moved to the channels app (same table): this app's foreign keys now
name channels.SalesChannel. State only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("orders", "0005_return_location"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cart",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="cartevent",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="origin_channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="cart filled on",
                    ),
                ),
                migrations.AlterField(
                    model_name="orderevent",
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
                    model_name="return",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="returned on",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
