"""SalesChannel moved to the channels app (same table): this app's foreign keys now
name channels.SalesChannel. State only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
        ("customers", "0004_login_code_purpose"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accesstoken",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="channels.saleschannel",
                    ),
                ),
                migrations.AlterField(
                    model_name="consent",
                    name="channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="preferred_channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="preferred channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="source_channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="first seen on",
                    ),
                ),
                migrations.AlterField(
                    model_name="customernote",
                    name="channel",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="channels.saleschannel",
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="logincode",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="channels.saleschannel",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
