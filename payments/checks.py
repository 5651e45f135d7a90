"""Deployment checks (``manage.py check --deploy``): a production site must not take
payments through the simulated gateway (it says "paid" without moving money) unless it
is a demo on purpose (``ALLOW_DEMO_SERVICES``), and then not with webhooks anyone could
sign; nor run Stripe without its keys."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from payments.conf import setting


@checks.register(checks.Tags.security, deploy=True)
def payment_gateway_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    gateway = setting("PAYMENT_GATEWAY")
    errors: list[checks.CheckMessage] = []
    if gateway == "simulated":
        if not getattr(settings, "ALLOW_DEMO_SERVICES", False):
            errors.append(
                checks.Error(
                    "PAYMENT_GATEWAY is 'simulated': card, link and instalment payments "
                    "would be marked paid without any money moving.",
                    hint="Set PAYMENT_GATEWAY=stripe with STRIPE_SECRET_KEY and "
                    "STRIPE_WEBHOOK_SECRET, or DJANGO_ALLOW_DEMO_SERVICES=true for a demo.",
                    id="payments.E002",
                )
            )
        if not setting("PAYMENT_SIMULATED_WEBHOOK_SECRET"):
            errors.append(
                checks.Error(
                    "PAYMENT_GATEWAY is 'simulated' but PAYMENT_SIMULATED_WEBHOOK_SECRET is "
                    "empty: its webhooks (the delayed confirmations) would all be refused.",
                    hint="Set PAYMENT_SIMULATED_WEBHOOK_SECRET to a long random value.",
                    id="payments.E003",
                )
            )
    elif gateway == "stripe" and not (
        setting("STRIPE_SECRET_KEY") and setting("STRIPE_WEBHOOK_SECRET")
    ):
        errors.append(
            checks.Error(
                "PAYMENT_GATEWAY is 'stripe' but STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET "
                "is empty.",
                id="payments.E001",
            )
        )
    return errors
