from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


def deadline_within_claim_timeout(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A delivery still being sent when its claim times out is handed back by the sweep
    and may be sent a second time, side by side with the first."""
    deadline = float(getattr(settings, "WEBHOOK_DELIVERY_DEADLINE_SECONDS", 15.0))
    claim_timeout = float(getattr(settings, "WEBHOOK_CLAIM_TIMEOUT_SECONDS", 60.0))
    if deadline < claim_timeout:
        return []
    return [
        checks.Warning(
            f"WEBHOOK_DELIVERY_DEADLINE_SECONDS ({deadline:g}) is not below "
            f"WEBHOOK_CLAIM_TIMEOUT_SECONDS ({claim_timeout:g}): a slow delivery would be "
            "handed back and sent again while still in flight.",
            hint="Keep the deadline well below the claim timeout (defaults: 15 s and 60 s).",
            id="webhooks.W001",
        )
    ]


class WebhooksConfig(AppConfig):
    name = "unicommerce.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(deadline_within_claim_timeout)
