from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """Cross-cutting pieces of the REST API: error shape, pagination, idempotency keys."""

    name = "unicommerce.api"
    label = "api"
    verbose_name = _("API")
