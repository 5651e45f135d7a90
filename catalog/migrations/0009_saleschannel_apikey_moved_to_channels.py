"""SalesChannel and ApiKey moved to the channels app (same tables, see channels 0001):
the catalog's own foreign keys follow, then the catalog forgets both models. State only,
after every other app's foreign keys moved, so no state ever points at a missing model."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_search_refresh_once"),
        ("channels", "0001_initial"),
        ("customers", "0005_saleschannel_moved_to_channels"),
        ("inventory", "0009_saleschannel_moved_to_channels"),
        ("orders", "0006_saleschannel_moved_to_channels"),
        ("payments", "0006_saleschannel_moved_to_channels"),
        ("pos", "0002_saleschannel_moved_to_channels"),
        ("webhooks", "0003_saleschannel_moved_to_channels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="catalogchange",
                    name="channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="channelprice",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="publication",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="product",
                    name="channels",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="products",
                        through="catalog.Publication",
                        to="channels.saleschannel",
                        verbose_name="published on",
                    ),
                ),
                migrations.DeleteModel(name="ApiKey"),
                migrations.DeleteModel(name="SalesChannel"),
            ],
            database_operations=[],
        ),
    ]
