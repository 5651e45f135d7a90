"""Paying with a gift card: a gateway over the loyalty app's gift card ledger
(registered as ``gift_card`` by ``payments.registry``).

``payment_start(method="gift_card", token=<the card's code>)`` redeems from the card. The
faces look the code up first with ``gift_card_find`` under their caller's rate limit
(the API: ``payments.api.gift_cards``); the gateway looks it up again under the order's.
No remote call: the redemption is a ledger row written with the operation's idempotency
key, so a replay (a crash between the call and its record, ``payment_claims_resume``)
answers the same row and never spends twice.

The code is a bearer secret: once the card has answered (redeemed or refused), the
payment's ``provider_token`` is blanked in the same transaction, so the database keeps
only the ``gc_<entry id>`` reference. A refund of such a payment goes back to the same
card, never above what that order took from it.
"""

from __future__ import annotations

from django.db import transaction

from loyalty.exceptions import (
    GiftCardCurrencyMismatch,
    GiftCardForGiftCard,
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardRefundExceedsRedeemed,
)
from loyalty.models import GiftCardEntry
from loyalty.services.gift_cards import gift_card_find, gift_card_redeem, gift_card_refund
from payments.gateways.base import Declined, Gateway, GatewayResult
from payments.models import Payment
from payments.services.gift_cards import gift_card_tender_check
from unicommerce.converters import whole_number
from unicommerce.ratelimit import RateLimited

GIFT_CARD = "gift_card"
REFUSALS = (
    GiftCardInvalid,
    GiftCardInsufficient,
    GiftCardCurrencyMismatch,
    GiftCardForGiftCard,
    GiftCardRefundExceedsRedeemed,
    RateLimited,
)


def _entry_of(reference: str) -> GiftCardEntry:
    prefix, _, pk = reference.partition("_")
    entry_id = whole_number(pk, minimum=1)
    entry = None
    if prefix == "gc" and entry_id is not None:
        entry = GiftCardEntry.objects.select_related("card").filter(pk=entry_id).first()
    if entry is None or entry.kind != GiftCardEntry.Kind.REDEEM:
        raise Declined("gift_card_reference_unknown", f"Unknown gift card payment {reference!r}.")
    return entry


def _result(entry: GiftCardEntry, amount, currency) -> GatewayResult:
    return GatewayResult(
        "succeeded", f"gc_{entry.pk}", amount, currency, card_last4=entry.card.last4
    )


class GiftCardGateway(Gateway):
    """Paying with a gift card: a redemption from the card whose code is the token."""

    code = GIFT_CARD
    remote = False

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        metadata = extra.get("metadata") or {}
        payment = (
            Payment.objects.select_related("order").filter(pk=metadata.get("payment_id")).first()
        )
        if payment is None:
            raise Declined("gift_card_payment_unknown", "No payment to take a gift card for.")
        if not capture:
            raise Declined("gift_card_capture_only", "A gift card is taken at once, never held.")
        key = f"charge:{idempotency_key}"
        done = GiftCardEntry.objects.select_related("card").filter(idempotency_key=key).first()
        if done is not None:  # a replay: the token may be blank by now
            return _result(done, -done.amount, done.card.currency)
        order = payment.order
        try:
            with transaction.atomic():
                _token_forget(payment)
                gift_card_tender_check(order)
                card = gift_card_find(code=token, caller=f"order:{order.pk}")
                entry = gift_card_redeem(
                    card=card,
                    amount=amount,
                    currency=currency,
                    reference=order.reference,
                    idempotency_key=key,
                )
        except REFUSALS as error:
            _token_forget(payment)
            raise Declined(error.code, error.message) from None
        return _result(entry, amount, currency)

    def refund(self, *, reference, amount, currency, idempotency_key):
        spent = _entry_of(reference)
        try:
            entry = gift_card_refund(
                card=spent.card,
                amount=amount,
                currency=currency,
                reference=spent.reference,
                idempotency_key=f"refund:{idempotency_key}",
            )
        except REFUSALS as error:
            raise Declined(error.code, error.message) from None
        return GatewayResult("succeeded", f"gc_{entry.pk}", amount, currency)

    def capture(self, *, reference, amount, currency, idempotency_key):
        raise Declined("gift_card_capture_only", "A gift card is taken at once, never held.")

    def void(self, *, reference, idempotency_key):
        raise Declined("gift_card_capture_only", "A gift card is taken at once, never held.")


def _token_forget(payment: Payment) -> None:
    """The card's code is kept nowhere once the card has answered."""
    Payment.objects.filter(pk=payment.pk).exclude(provider_token="").update(provider_token="")
