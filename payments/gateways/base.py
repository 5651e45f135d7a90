"""The interface every payment gateway implements, and what it answers.

Calls are synchronous HTTP (or nothing, for in-person money). Every call carries an
idempotency key that the gateway forwards to its provider, so sending the same call
again (after a timeout or a crash) never charges twice: that is what makes a lost answer
recoverable. Amounts are Decimal in the currency's major unit; adapters convert.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

Outcome = Literal["succeeded", "authorised", "pending"]
EVENT_TYPES = frozenset(
    {
        "payment.succeeded",
        "payment.authorised",
        "payment.failed",
        "payment.canceled",
        "refund.succeeded",
        "refund.failed",
    }
)


class GatewayError(Exception):
    """The provider refused the call for good (nothing was charged)."""

    def __init__(self, code: str, message: str = "", *, reference: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.reference = reference


class Declined(GatewayError):
    """The card or account was declined (or the request was refused): a final failure."""


class TemporaryError(GatewayError):
    """No usable answer (network, timeout, 5xx, rate limit): the outcome is unknown and
    the same call must be retried with the same idempotency key."""


class SignatureInvalid(GatewayError):
    """A webhook whose signature does not verify, or which is too old (a replay)."""


@dataclass(frozen=True)
class GatewayResult:
    """What a provider answered to a charge, capture, refund or void."""

    outcome: Outcome
    reference: str  # the provider's id of the payment (or of the refund, for refunds)
    amount: Decimal
    currency: str
    card_brand: str = ""
    card_last4: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider webhook, in our own words.

    ``type`` is one of ``payment.succeeded``, ``payment.authorised``, ``payment.failed``,
    ``payment.canceled``, ``refund.succeeded``, ``refund.failed`` or ``ignored``;
    ``reference`` is the provider's payment id, ``refund_reference`` the refund's.
    """

    event_id: str
    type: str
    reference: str
    provider_type: str = ""
    amount: Decimal | None = None
    currency: str = ""
    refund_reference: str = ""
    error_code: str = ""
    error_message: str = ""
    card_brand: str = ""
    card_last4: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)


class Gateway:
    """One payment provider. ``remote`` gateways are called outside any transaction."""

    code: ClassVar[str] = ""
    remote: ClassVar[bool] = True

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        capture: bool,
        idempotency_key: str,
        description: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        """Take (``capture``) or hold money from ``token``. Raises Declined or TemporaryError."""
        raise NotImplementedError

    def capture(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        raise NotImplementedError

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        """Give back part or all of a captured payment; ``reference`` of the result is
        the refund's own id."""
        raise NotImplementedError

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        """Release an authorisation that was never captured."""
        raise NotImplementedError

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Check a webhook's signature over the raw ``body``; raise SignatureInvalid."""
        raise SignatureInvalid("webhooks_unsupported", "this gateway sends no webhooks")

    def event_read(self, document: Mapping[str, Any]) -> WebhookEvent:
        """A provider's event document (already verified) in our own words. Raises
        KeyError/ValueError/TypeError for a document that is not an event."""
        raise ValueError("this gateway sends no webhooks")

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify a webhook and read it (ValueError for a body that is not an event)."""
        self.webhook_verify(body=body, headers=headers)
        return self.event_read(document_read(body))

    def outcome_recorded(self, *, result: GatewayResult, idempotency_key: str) -> None:
        """Called once the outcome of a call is committed (the simulated gateway sends
        its delayed confirmation from here; real providers do that on their own)."""


# --- Reading a provider's document: anything unexpected is a ValueError (a 400), never a
# crash later in the database (a 500) nor a wrong amount.

MAX_DEPTH = 32  # providers' events are a few levels deep
AMOUNT_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)  # what a money column holds


def _constant_refused(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _text_check(text: str, where: str) -> None:
    if "\x00" in text:
        raise ValueError(f"{where}: a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: not valid Unicode") from None


def document_read(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object that can be stored as it is (PostgreSQL's jsonb
    refuses NUL characters and lone surrogates; NaN and infinities are not JSON)."""
    try:
        document = json.loads(body, parse_constant=_constant_refused)
    except RecursionError:
        raise ValueError("the webhook body is nested too deeply") from None
    if not isinstance(document, dict):
        raise ValueError("the webhook body is not a JSON object")
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ValueError("the webhook body is nested too deeply")
        if isinstance(value, dict):
            for key, item in value.items():
                _text_check(key, "a key")
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _text_check(value, "a text")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a number is out of range")
    return document


def mapping_read(value: Any, name: str, *, required: bool = True) -> Mapping[str, Any]:
    """An object field (``{}`` for an absent optional one)."""
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: not an object")
    return value


def text_read(value: Any, name: str, *, required: bool = True, max_length: int | None = 255) -> str:
    """A text field: a non-empty string when required, ``""`` for an absent optional one;
    longer than ``max_length`` (the column it goes to) is refused, not cut."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: not a string")
    if required and not value:
        raise ValueError(f"{name}: empty")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{name}: longer than {max_length} characters")
    return value


def currency_read(value: Any, name: str) -> str:
    """An ISO 4217 code, upper-cased (``""`` when absent)."""
    if value is None or value == "":
        return ""
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValueError(f"{name}: not a currency code")
    return value.upper()


def amount_check(amount: Decimal, name: str) -> Decimal:
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
        raise ValueError(f"{name}: not an amount")
    return amount


def amount_read(value: Any, name: str) -> Decimal | None:
    """An amount in the major unit, written as a string ("25.00") or an integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name}: not an amount")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name}: not an amount") from None
    return amount_check(amount, name)
