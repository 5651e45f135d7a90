"""SalesChannel moved to the channels app (same table): this app's foreign keys now
name channels.SalesChannel. State only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("pos", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="register",
                    name="channel",
                    field=models.ForeignKey(
                        limit_choices_to={"kind": "store"},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="registers",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
