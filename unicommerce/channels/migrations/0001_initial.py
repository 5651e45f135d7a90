"""SalesChannel and ApiKey move here from the catalog app, tables and rows unchanged.

State only: the models take over the catalog's tables (``db_table``), every app that
points at them follows in its own migration (state only too), then catalog 0009 drops
them from its state. The content types are renamed so that permissions already granted
(``catalog.view_saleschannel`` becomes ``channels.view_saleschannel``) keep their rows.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ["saleschannel", "apikey"]


def _content_types_move(apps, old_label: str, new_label: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        old = content_type.objects.filter(app_label=old_label, model=model)
        if not old.exists():
            continue  # a new database: post_migrate creates them under "channels"
        # Both exist only after a migration backwards (post_migrate recreated the
        # installed app's ones, without any grant): the old row, with the grants, wins.
        content_type.objects.filter(app_label=new_label, model=model).delete()
        old.update(app_label=new_label)
    content_type.objects.clear_cache()


def content_types_forwards(apps, schema_editor) -> None:
    _content_types_move(apps, "catalog", "channels")


def content_types_backwards(apps, schema_editor) -> None:
    _content_types_move(apps, "channels", "catalog")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # The tables were created by the catalog app.
        ("catalog", "0008_search_refresh_once"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SalesChannel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("code", models.SlugField(unique=True, verbose_name="code")),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("web", "web store"),
                                    ("store", "physical store"),
                                    ("marketplace", "marketplace"),
                                    ("app", "mobile app"),
                                ],
                                max_length=20,
                                verbose_name="kind",
                            ),
                        ),
                        (
                            "currency",
                            models.CharField(default="EUR", max_length=3, verbose_name="currency"),
                        ),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                    ],
                    options={
                        "verbose_name": "sales channel",
                        "verbose_name_plural": "sales channels",
                        "db_table": "catalog_saleschannel",
                        "ordering": ["code"],
                    },
                ),
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    (
                                        "publishable",
                                        "publishable (storefront, may ship in a browser)",
                                    ),
                                    ("secret", "secret (integration, server to server)"),
                                ],
                                default="secret",
                                max_length=12,
                                verbose_name="kind",
                            ),
                        ),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        (
                            "prefix",
                            models.CharField(db_index=True, max_length=16, verbose_name="prefix"),
                        ),
                        ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                        ),
                        (
                            "last_used_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="last used at"),
                        ),
                        (
                            "revoked_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="revoked at"),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="staff user",
                            ),
                        ),
                        (
                            "channel",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to="channels.saleschannel",
                                verbose_name="channel",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API key",
                        "verbose_name_plural": "API keys",
                        "db_table": "catalog_apikey",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("channel__isnull", False), ("user__isnull", True)),
                                    models.Q(("channel__isnull", True), ("user__isnull", False)),
                                    _connector="OR",
                                ),
                                name="api_key_channel_or_user",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("channel__isnull", False), ("kind", "secret"), _connector="OR"
                                ),
                                name="api_key_staff_key_secret",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forwards, content_types_backwards),
    ]
