"""Payments settings, read when used (so tests may override them) with their defaults.

Every name may be set in the Django settings (from the environment); none is required:

- ``PAYMENT_GATEWAY``: the gateway for remote methods (card online, payment link,
  instalments): ``"simulated"`` (default) or ``"stripe"``.
- ``STRIPE_API_BASE`` (``https://api.stripe.com``), ``STRIPE_SECRET_KEY``,
  ``STRIPE_WEBHOOK_SECRET``, ``STRIPE_TIMEOUT_SECONDS`` (10).
- ``PAYMENT_WEBHOOK_TOLERANCE_SECONDS``: how old a signed webhook may be (300).
- ``PAYMENT_SIMULATED_WEBHOOK_SECRET``: what the simulated gateway signs its webhooks with.
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
    "PAYMENT_SIMULATED_WEBHOOK_SECRET": "whsec_simulated_gateway_not_secret",
    "PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS": 1.0,
    "PAYMENT_IDEMPOTENCY_WAIT_SECONDS": 30.0,
}


def setting(name: str):
    """The value of a payments setting, or its default."""
    return getattr(settings, name, DEFAULTS[name])
