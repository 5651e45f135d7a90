"""Deployment checks: a production site must not take payments through the simulated
gateway (it says "paid" without moving money), nor run Stripe without its keys."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def payment_gateway_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    gateway = getattr(settings, "PAYMENT_GATEWAY", "simulated")
    if gateway == "simulated":
        return [
            checks.Warning(
                "PAYMENT_GATEWAY is 'simulated': card, link and instalment payments are "
                "marked paid without any money moving.",
                hint="Set PAYMENT_GATEWAY=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
                id="payments.W001",
            )
        ]
    if gateway == "stripe" and not (
        getattr(settings, "STRIPE_SECRET_KEY", "")
        and getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    ):
        return [
            checks.Error(
                "PAYMENT_GATEWAY is 'stripe' but STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET "
                "is empty.",
                id="payments.E001",
            )
        ]
    return []
