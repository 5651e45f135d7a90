from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from payments import (
            checks,  # noqa: F401 - registers the deployment checks
            events,  # noqa: F401 - declares the topics, subscribes
        )
        from payments.registry import payments_strategies_register

        payments_strategies_register()
