"""Money taken in person: cash, or a card on a standalone terminal whose receipt number
the seller types. Nothing to call; the money is in hand, so every call succeeds."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from payments.gateways.base import Gateway, GatewayResult


def _reference(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class ManualGateway(Gateway):
    code = "manual"
    remote = False

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        # The token of a terminal payment is its receipt/transaction number, if typed.
        reference = token or _reference("manual", idempotency_key)
        return GatewayResult("succeeded" if capture else "authorised", reference, amount, currency)

    def capture(self, *, reference, amount, currency, idempotency_key):
        return GatewayResult("succeeded", reference, amount, currency)

    def refund(self, *, reference, amount: Decimal, currency, idempotency_key):
        return GatewayResult(
            "succeeded", _reference("manual_re", idempotency_key), amount, currency
        )

    def void(self, *, reference, idempotency_key):
        return GatewayResult("succeeded", reference, Decimal(0), "")
