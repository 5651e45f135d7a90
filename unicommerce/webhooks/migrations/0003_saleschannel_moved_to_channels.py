"""SalesChannel moved to the channels app (same table): this app's foreign keys now
name channels.SalesChannel. State only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("webhooks", "0002_dead_letter_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="webhookendpoint",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_endpoints",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
