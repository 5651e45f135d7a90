from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "unicommerce.messaging"
    label = "messaging"
    verbose_name = _("Customer messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from unicommerce.messaging import checks  # noqa: F401 - registers the deploy checks
