"""The interface every payment gateway implements, and what it answers.

Calls are synchronous HTTP (or nothing, for in-person money). Every call carries an
idempotency key that the gateway forwards to its provider, so sending the same call
again (after a timeout or a crash) never charges twice: that is what makes a lost answer
recoverable. Amounts are Decimal in the currency's major unit; adapters convert.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal

Outcome = Literal["succeeded", "authorised", "pending"]


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
        """Verify a webhook and read it."""
        self.webhook_verify(body=body, headers=headers)
        document = json.loads(body)
        if not isinstance(document, Mapping):
            raise TypeError("the webhook body is not a JSON object")
        return self.event_read(document)

    def outcome_recorded(self, *, result: GatewayResult, idempotency_key: str) -> None:
        """Called once the outcome of a call is committed (the simulated gateway sends
        its delayed confirmation from here; real providers do that on their own)."""
