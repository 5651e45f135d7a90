"""Payments settings, read when used (so tests may override them) with their defaults.

Every name may be set in the Django settings (from the environment); none is required:

- ``PAYMENT_GATEWAY``: the gateway for remote methods (card online, payment link,
  instalments): ``"simulated"`` (default) or ``"stripe"``. Only that one of the two
  exists: the other cannot be chosen and its webhook URL answers 404.
- ``STRIPE_API_BASE`` (``https://api.stripe.com``), ``STRIPE_SECRET_KEY``,
  ``STRIPE_WEBHOOK_SECRET``, ``STRIPE_TIMEOUT_SECONDS`` (10).
- ``PAYMENT_WEBHOOK_TOLERANCE_SECONDS``: how old a signed webhook may be (300).
- ``PAYMENT_SIMULATED_WEBHOOK_SECRET``: what the simulated gateway signs its webhooks with
  (no default: without it every simulated webhook is refused; the development and test
  settings set one).
- ``PAYMENT_WEBHOOK_MAX_BYTES``: the largest provider webhook body read (64 KiB); a
  larger one is answered 413 before it is parsed or stored.
- ``PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS``: when a delayed confirmation arrives (1.0).
- ``PAYMENT_IDEMPOTENCY_WAIT_SECONDS``: how long a retry waits for the first call with
  the same idempotency key before answering "in progress" (30).
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS: dict[str, object] = {
    "PAYMENT_GATEWAY": "simulated",
    "STRIPE_API_BASE": "https://api.stripe.com",
    "STRIPE_SECRET_KEY": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "STRIPE_TIMEOUT_SECONDS": 10.0,
    "PAYMENT_WEBHOOK_TOLERANCE_SECONDS": 300,
    "PAYMENT_SIMULATED_WEBHOOK_SECRET": "",
    "PAYMENT_WEBHOOK_MAX_BYTES": 64 * 1024,
    "PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS": 1.0,
    "PAYMENT_IDEMPOTENCY_WAIT_SECONDS": 30.0,
    "INSTALMENT_PLANS": {
        "2x": {
            "parts": 2,
            "min": "50.00",
            "max": "2000.00",
            "channel_kinds": ["web", "store", "app"],
            "currencies": ["EUR"],
        },
        "3x": {
            "parts": 3,
            "min": "50.00",
            "max": "3000.00",
            "channel_kinds": ["web", "store", "app"],
            "currencies": ["EUR"],
        },
        "4x": {
            "parts": 4,
            "min": "100.00",
            "max": "4000.00",
            "channel_kinds": ["web", "store", "app"],
            "currencies": ["EUR"],
        },
        "d15": {
            "days": 15,
            "min": "20.00",
            "max": "1000.00",
            "channel_kinds": ["web", "store", "app"],
            "currencies": ["EUR"],
        },
        "d30": {
            "days": 30,
            "min": "20.00",
            "max": "1000.00",
            "channel_kinds": ["web", "store", "app"],
            "currencies": ["EUR"],
        },
    },
    "INSTALMENT_RETRY_DELAYS_DAYS": (1, 3),
    "INSTALMENT_REMINDER_DAYS_BEFORE": 3,
    "INSTALMENT_PROCESSING_TIMEOUT_SECONDS": 600,
}


def setting(name: str):
    """The value of a payments setting, or its default."""
    return getattr(settings, name, DEFAULTS[name])


# --- Payment links (payments.services.links): H8's block.
# - ``PAYMENT_LINK_TTL_MINUTES``: how long a link (or a resent one) stays payable (1 day).
# - ``PUBLIC_BASE_URL``: where customers reach this site; the SMS carries
#   ``PUBLIC_BASE_URL`` + ``/pay/<token>/``.
# - ``PAYMENT_LINK_SHOP_NAME``: the sender's name at the start of the SMS.
DEFAULTS.update(
    {
        "PAYMENT_LINK_TTL_MINUTES": 60 * 24,
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "PAYMENT_LINK_SHOP_NAME": "Unicommerce",
    }
)
