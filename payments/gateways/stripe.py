"""Stripe cards, through Stripe's documented HTTP API (PaymentIntents and Refunds).

Requests are form-encoded ``POST``s to ``STRIPE_API_BASE`` with the secret key as a
bearer token and our idempotency key in the ``Idempotency-Key`` header: Stripe answers a
repeated key with the first answer, so a call whose answer was lost is simply sent again.
Amounts go in the currency's minor unit. Webhooks carry ``Stripe-Signature:
t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`` and are refused outside the
tolerance window; a signed event of an unexpected shape (a field of the wrong type, an
amount that is not a whole number of minor units) is refused as invalid. Nothing here
sees a card number: only ``pm_…`` tokens, and the brand and last four digits Stripe sends
back. The gateway exists only when ``PAYMENT_GATEWAY`` is ``stripe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from babel.numbers import get_currency_precision

from payments.conf import setting
from payments.gateways.base import (
    Declined,
    Gateway,
    GatewayError,
    GatewayResult,
    SignatureInvalid,
    TemporaryError,
    WebhookEvent,
    amount_check,
    currency_read,
    mapping_read,
    text_read,
)
from unicommerce.webhooks import signing

SIGNATURE_HEADER = "Stripe-Signature"
API_VERSION = "2024-06-20"

_INTENT_OUTCOMES = {
    "succeeded": "succeeded",
    "requires_capture": "authorised",
    "processing": "pending",
    "requires_action": "pending",
    "requires_confirmation": "pending",
}
_REFUND_OUTCOMES = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}
_EVENT_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.amount_capturable_updated": "payment.authorised",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.canceled": "payment.canceled",
}


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(get_currency_precision(currency.upper())))


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(int(value)).scaleb(-get_currency_precision(currency.upper()))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _card(intent: Mapping[str, Any]) -> tuple[str, str]:
    """The card's brand and last four digits, when the expanded charge has them (only
    shown, so anything else is simply left out)."""
    card: Any = intent.get("latest_charge")
    for key in ("payment_method_details", "card"):
        card = card.get(key) if isinstance(card, Mapping) else None
    if not isinstance(card, Mapping):
        return "", ""
    brand, last4 = card.get("brand"), card.get("last4")
    return (
        brand if isinstance(brand, str) else "",
        last4 if isinstance(last4, str) and last4.isdigit() else "",
    )


def _minor_read(obj: Mapping[str, Any], key: str, currency: str) -> Decimal | None:
    """An amount in minor units (a whole number), in the major unit; None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    name = f"data.object.{key}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: not a whole number of minor units")
    if value < 0 or len(str(value)) > 20:
        raise ValueError(f"{name}: not an amount")
    return amount_check(from_minor(value, currency or "EUR"), name)


class StripeGateway(Gateway):
    code = "stripe"

    def __init__(
        self, *, api_base: str, secret_key: str, webhook_secret: str, timeout: float = 10.0
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> StripeGateway:
        return cls(
            api_base=setting("STRIPE_API_BASE"),
            secret_key=setting("STRIPE_SECRET_KEY"),
            webhook_secret=setting("STRIPE_WEBHOOK_SECRET"),
            timeout=float(setting("STRIPE_TIMEOUT_SECONDS")),
        )

    # --- HTTP

    def _post(self, path: str, data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Idempotency-Key": idempotency_key,
            "Stripe-Version": API_VERSION,
        }
        try:
            response = httpx.post(
                self.api_base + path, data=data, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise TemporaryError("network_error", type(exc).__name__) from exc
        try:
            document = response.json()
        except ValueError:
            document = {}
        if response.status_code < 300:
            return document
        error = document.get("error") or {}
        code = str(error.get("decline_code") or error.get("code") or error.get("type") or "")
        message = str(error.get("message") or response.reason_phrase)
        intent = error.get("payment_intent") or {}
        reference = str(intent.get("id") or "") if isinstance(intent, Mapping) else ""
        if response.status_code in (409, 429) or response.status_code >= 500:
            raise TemporaryError(code or f"http_{response.status_code}", message)
        if response.status_code == 402 or error.get("type") == "card_error":
            raise Declined(code or "card_declined", message, reference=reference)
        if response.status_code in (401, 403):
            raise GatewayError("authentication_error", message)
        raise Declined(code or f"http_{response.status_code}", message, reference=reference)

    def _intent_result(self, intent: dict[str, Any]) -> GatewayResult:
        status = str(intent.get("status", ""))
        currency = str(intent.get("currency", "")).upper()
        if status == "requires_payment_method":
            error = intent.get("last_payment_error") or {}
            raise Declined(
                str(error.get("decline_code") or error.get("code") or "payment_failed"),
                str(error.get("message") or "The payment failed."),
                reference=str(intent.get("id", "")),
            )
        if status not in _INTENT_OUTCOMES:
            raise Declined(f"unexpected_status_{status}", "Unexpected payment status.")
        amount = intent.get("amount_received") or intent.get("amount") or 0
        brand, last4 = _card(intent)
        return GatewayResult(
            _INTENT_OUTCOMES[status],
            str(intent["id"]),
            from_minor(amount, currency),
            currency,
            brand,
            last4,
            intent,
        )

    # --- Gateway

    def charge(
        self,
        *,
        amount,
        currency,
        token,
        capture,
        idempotency_key,
        description="",
        metadata=None,
    ):
        data: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "payment_method": token,
            "payment_method_types[]": "card",
            "confirm": "true",
            "capture_method": "automatic" if capture else "manual",
            "expand[]": "latest_charge",
        }
        if description:
            data["description"] = description
        for name, value in (metadata or {}).items():
            data[f"metadata[{name}]"] = value
        return self._intent_result(self._post("/v1/payment_intents", data, idempotency_key))

    def capture(self, *, reference, amount, currency, idempotency_key):
        data = {"amount_to_capture": to_minor(amount, currency), "expand[]": "latest_charge"}
        intent = self._post(f"/v1/payment_intents/{reference}/capture", data, idempotency_key)
        return self._intent_result(intent)

    def void(self, *, reference, idempotency_key):
        intent = self._post(f"/v1/payment_intents/{reference}/cancel", {}, idempotency_key)
        if intent.get("status") != "canceled":
            raise Declined("not_canceled", f"The payment is {intent.get('status')}.")
        return GatewayResult("succeeded", str(intent["id"]), Decimal(0), "", raw=intent)

    def refund(self, *, reference, amount, currency, idempotency_key):
        data = {"payment_intent": reference, "amount": to_minor(amount, currency)}
        refund = self._post("/v1/refunds", data, idempotency_key)
        status = str(refund.get("status", ""))
        if status not in _REFUND_OUTCOMES:
            raise Declined(
                str(refund.get("failure_reason") or f"refund_{status}"), "The refund failed."
            )
        return GatewayResult(
            _REFUND_OUTCOMES[status],
            str(refund["id"]),
            from_minor(refund.get("amount", 0), currency),
            currency,
            raw=refund,
        )

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        if not self.webhook_secret:
            raise SignatureInvalid("not_configured", "STRIPE_WEBHOOK_SECRET is not set")
        try:
            signing.verify(
                self.webhook_secret,
                _header(headers, SIGNATURE_HEADER),
                body,
                tolerance=int(setting("PAYMENT_WEBHOOK_TOLERANCE_SECONDS")),
            )
        except signing.SignatureError as exc:
            raise SignatureInvalid("signature_invalid", str(exc)) from None

    def event_read(self, document: Mapping[str, Any]) -> WebhookEvent:
        provider_type = text_read(document.get("type"), "type", max_length=100)
        obj = mapping_read(mapping_read(document.get("data"), "data").get("object"), "data.object")
        kind = text_read(obj.get("object"), "data.object.object", required=False)
        base = {
            "event_id": text_read(document.get("id"), "id"),
            "provider_type": provider_type,
            "payload": document,
        }
        if kind not in ("refund", "payment_intent"):
            return WebhookEvent(
                type="ignored",
                reference=text_read(obj.get("id"), "data.object.id", required=False),
                **base,
            )
        currency = currency_read(obj.get("currency"), "data.object.currency")
        amounts = {key: _minor_read(obj, key, currency) for key in ("amount", "amount_received")}
        if kind == "refund":
            status = text_read(obj.get("status"), "data.object.status", required=False)
            return WebhookEvent(
                type={"succeeded": "refund.succeeded", "failed": "refund.failed"}.get(
                    status, "ignored"
                ),
                reference=text_read(
                    obj.get("payment_intent"), "data.object.payment_intent", required=False
                ),
                refund_reference=text_read(obj.get("id"), "data.object.id", required=False),
                amount=(amounts["amount"] or Decimal(0)) if currency else None,
                currency=currency,
                error_code=text_read(
                    obj.get("failure_reason"), "data.object.failure_reason", required=False
                )[:100],
                **base,
            )
        error = mapping_read(
            obj.get("last_payment_error"), "data.object.last_payment_error", required=False
        )
        code = error.get("decline_code") or error.get("code")
        brand, last4 = _card(obj)
        received = amounts["amount_received"] or amounts["amount"] or Decimal(0)
        return WebhookEvent(
            type=_EVENT_TYPES.get(provider_type, "ignored"),
            reference=text_read(obj.get("id"), "data.object.id"),
            amount=received if currency else None,
            currency=currency,
            error_code=text_read(code, "last_payment_error.code", required=False)[:100],
            error_message=text_read(
                error.get("message"),
                "last_payment_error.message",
                required=False,
                max_length=None,
            )[:255],
            card_brand=brand,
            card_last4=last4,
            **base,
        )
