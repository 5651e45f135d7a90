"""The simulated gateway: the embedded default, for development, demos and tests.

It behaves like a provider with deterministic, controllable outcomes chosen by the
payment-method token:

- ``sim_ok``: succeeds (or is authorised, when not captured at once);
- ``sim_decline``: declined (``card_declined``);
- ``sim_delayed``: answers *pending*; the confirmation arrives later as a signed webhook,
  delivered by the Celery task ``payments.simulated_webhook`` through the same
  processing service as a real provider's webhook;
- ``sim_duplicate_webhook``: like ``sim_delayed``, and the confirmation is delivered twice;
- ``sim_timeout``: the charge is made but the answer is lost (a ``TemporaryError``) the
  first time; the same call again (same idempotency key) answers the charge made.

Ids are derived from the idempotency key, and a key seen before answers what it answered
the first time without charging again, as real providers do. ``CALLS`` records every call
that reached the gateway (tests count them); ``WEBHOOKS`` the confirmations scheduled.
Webhooks are signed like Stripe's (``Simulated-Signature: t=…,v1=…``) with
``PAYMENT_SIMULATED_WEBHOOK_SECRET``, from the environment: without it every simulated
webhook is refused. The gateway exists only when ``PAYMENT_GATEWAY`` is ``simulated``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import transaction

from payments.conf import setting
from payments.gateways.base import (
    EVENT_TYPES,
    Declined,
    Gateway,
    GatewayError,
    GatewayResult,
    SignatureInvalid,
    TemporaryError,
    WebhookEvent,
    amount_read,
    currency_read,
    mapping_read,
    text_read,
)
from unicommerce.webhooks import signing

SIGNATURE_HEADER = "Simulated-Signature"
# Payment-method tokens (test values, not secrets).
TOKEN_OK = "sim_ok"  # noqa: S105
TOKEN_DECLINE = "sim_decline"  # noqa: S105
TOKEN_TIMEOUT = "sim_timeout"  # noqa: S105
DELAYED_TOKENS = {"sim_delayed": 1, "sim_duplicate_webhook": 2}


@dataclass(frozen=True)
class SimulatedCall:
    action: str
    idempotency_key: str
    amount: Decimal
    replayed: bool


CALLS: list[SimulatedCall] = []
WEBHOOKS: list[dict] = []  # the keyword arguments of each scheduled delivery task
_ANSWERS: dict[str, tuple[str, GatewayResult | GatewayError]] = {}
_LOST_ONCE: set[str] = set()
_TOKENS: dict[str, str] = {}
_lock = threading.Lock()


def reset() -> None:
    """Forget every call (tests start from a clean provider)."""
    with _lock:
        CALLS.clear()
        WEBHOOKS.clear()
        _ANSWERS.clear()
        _LOST_ONCE.clear()
        _TOKENS.clear()


def charges(idempotency_key: str | None = None) -> list[SimulatedCall]:
    """The calls that actually charged (not replays), optionally for one key."""
    return [
        c
        for c in CALLS
        if c.action == "charge"
        and not c.replayed
        and (idempotency_key is None or c.idempotency_key == idempotency_key)
    ]


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def webhook_body(
    *, event_id: str, event_type: str, reference: str, amount: str, currency: str
) -> bytes:
    """The JSON a simulated provider posts."""
    document = {
        "id": event_id,
        "type": event_type,
        "created": int(time.time()),
        "data": {"reference": reference, "amount": amount, "currency": currency},
    }
    return json.dumps(document, sort_keys=True).encode()


def webhook_headers(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    secret = setting("PAYMENT_SIMULATED_WEBHOOK_SECRET")
    return {
        SIGNATURE_HEADER: signing.signature_header(secret, body, timestamp=timestamp),
        "Content-Type": "application/json",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


class SimulatedGateway(Gateway):
    code = "simulated"

    def _answer(self, action: str, key: str, fingerprint: str, amount: Decimal, make):
        """Replay a key's first answer, or compute, remember and give a new one."""
        with _lock:
            seen = _ANSWERS.get(key)
            CALLS.append(SimulatedCall(action, key, amount, replayed=seen is not None))
            if seen is None:
                answer: GatewayResult | GatewayError
                try:
                    answer = make()
                except GatewayError as exc:
                    answer = exc
                _ANSWERS[key] = (fingerprint, answer)
                seen = _ANSWERS[key]
                lose = key in _LOST_ONCE
            else:
                lose = False
        if seen[0] != fingerprint:
            raise Declined(
                "idempotency_error",
                "Keys for idempotent requests can only be used "
                "with the same parameters they were first used with.",
            )
        if lose:
            raise TemporaryError("timeout", "the answer was lost on the way back")
        if isinstance(seen[1], GatewayError):
            raise seen[1]
        return seen[1]

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        reference = _id("sim_pi", idempotency_key)

        def make() -> GatewayResult:
            if token == TOKEN_DECLINE:
                raise Declined("card_declined", "Your card was declined.", reference=reference)
            if token in DELAYED_TOKENS:
                return GatewayResult("pending", reference, amount, currency)
            if token in (TOKEN_OK, TOKEN_TIMEOUT):
                if token == TOKEN_TIMEOUT:
                    _LOST_ONCE.add(idempotency_key)
                outcome = "succeeded" if capture else "authorised"
                return GatewayResult(outcome, reference, amount, currency, "visa", "4242")
            raise Declined(
                "invalid_token", "Unknown simulated payment method.", reference=reference
            )

        fingerprint = f"charge|{amount}|{currency}|{token}|{capture}"
        with _lock:
            _TOKENS.setdefault(idempotency_key, token)
        return self._answer("charge", idempotency_key, fingerprint, amount, make)

    def capture(self, *, reference, amount, currency, idempotency_key):
        fingerprint = f"capture|{reference}|{amount}"
        return self._answer(
            "capture",
            idempotency_key,
            fingerprint,
            amount,
            lambda: GatewayResult("succeeded", reference, amount, currency),
        )

    def refund(self, *, reference, amount, currency, idempotency_key):
        fingerprint = f"refund|{reference}|{amount}"
        refund_id = _id("sim_re", idempotency_key)
        return self._answer(
            "refund",
            idempotency_key,
            fingerprint,
            amount,
            lambda: GatewayResult("succeeded", refund_id, amount, currency),
        )

    def void(self, *, reference, idempotency_key):
        return self._answer(
            "void",
            idempotency_key,
            f"void|{reference}",
            Decimal(0),
            lambda: GatewayResult("succeeded", reference, Decimal(0), ""),
        )

    def outcome_recorded(self, *, result: GatewayResult, idempotency_key: str) -> None:
        """A pending charge is confirmed later by webhook(s), once its outcome is committed."""
        with _lock:
            token = _TOKENS.get(idempotency_key, "")
        deliveries = DELAYED_TOKENS.get(token, 0) if result.outcome == "pending" else 0
        kwargs = {
            "event_id": _id("sim_evt", result.reference),
            "event_type": "payment.succeeded",
            "reference": result.reference,
            "amount": str(result.amount),
            "currency": result.currency,
        }
        from payments.tasks import simulated_webhook

        delay = float(setting("PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS"))
        for _ in range(deliveries):
            WEBHOOKS.append(kwargs)
            # robust: a broker that is down must not turn a recorded payment into an error.
            transaction.on_commit(
                partial(simulated_webhook.apply_async, kwargs=kwargs, countdown=delay),
                robust=True,
            )

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        secret = setting("PAYMENT_SIMULATED_WEBHOOK_SECRET")
        if not secret:
            raise SignatureInvalid("not_configured", "PAYMENT_SIMULATED_WEBHOOK_SECRET is not set")
        try:
            signing.verify(
                secret,
                _header(headers, SIGNATURE_HEADER),
                body,
                tolerance=int(setting("PAYMENT_WEBHOOK_TOLERANCE_SECONDS")),
            )
        except signing.SignatureError as exc:
            raise SignatureInvalid("signature_invalid", str(exc)) from None

    def event_read(self, document: Mapping) -> WebhookEvent:
        """``{"id", "type", "data": {"reference", "amount"?, "currency"?,
        "refund_reference"?}}``; a type we do not know is ``ignored``."""
        data = mapping_read(document.get("data"), "data")
        provider_type = text_read(document.get("type"), "type", max_length=100)
        return WebhookEvent(
            event_id=text_read(document.get("id"), "id"),
            type=provider_type if provider_type in EVENT_TYPES else "ignored",
            provider_type=provider_type,
            reference=text_read(data.get("reference"), "data.reference"),
            amount=amount_read(data.get("amount"), "data.amount"),
            currency=currency_read(data.get("currency"), "data.currency"),
            refund_reference=text_read(
                data.get("refund_reference"), "data.refund_reference", required=False
            ),
            payload=document,
        )
