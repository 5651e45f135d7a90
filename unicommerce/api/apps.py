from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """Cross-cutting pieces of the REST API: error shape, pagination, idempotency keys."""

    name = "unicommerce.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        # Registers its Celery task (the pruning of stored replies) in every process.
        from unicommerce.api import idempotency  # noqa: F401
