"""Gift cards as a tender (docs/loyalty.md, "Gift cards"): the rules payments adds to
loyalty's ledger. A gift card never pays for a gift card, and a refund "to gift card"
goes back to the cards that paid the order, never onto a new one (its code could not be
given to anyone from here)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Max

from loyalty.exceptions import GiftCardForGiftCard, GiftCardRefundExceedsRedeemed
from loyalty.models import GiftCard, GiftCardEntry
from loyalty.services.gift_cards import gift_card_refund, gift_card_refundable
from orders.models import Order, OrderLine


def order_has_gift_cards(order: Order) -> bool:
    """Does the order sell a gift card (a line not cancelled whose product is one)?"""
    return (
        OrderLine.objects.filter(order_id=order.pk)
        .exclude(status=OrderLine.Status.CANCELLED)
        .exclude(variant__product__gift_card="")
        .exists()
    )


def gift_card_tender_check(order: Order) -> None:
    """Refuse paying ``order`` with a gift card when it sells one
    (``gift_card_for_gift_card``)."""
    if order_has_gift_cards(order):
        raise GiftCardForGiftCard(order=order.reference)


def _cards_that_paid(order: Order) -> list[GiftCard]:
    """The cards redeemed for the order, the most recently used first."""
    used = (
        GiftCardEntry.objects.filter(reference=order.reference, kind=GiftCardEntry.Kind.REDEEM)
        .values("card_id")
        .annotate(last=Max("id"))
        .order_by("-last")
    )
    cards = GiftCard.objects.in_bulk([row["card_id"] for row in used])
    return [cards[row["card_id"]] for row in used]


def gift_card_refund_to_order_cards(
    *,
    order: Order,
    amount: Decimal,
    currency: str,
    user,
    idempotency_key: str,
    reason: str,
) -> str:
    """The refund method ``gift_card`` (``payments.services.refund_methods``): ``amount``
    goes back to the cards that paid the order, the last one used first, each up to what
    it paid and has not had back. More than all of them paid:
    ``gift_card_refund_exceeds_redeemed`` (nothing written: the caller's transaction
    rolls back). Returns the references of the rows written (``gc_<id>``, comma-joined)."""
    left = amount
    references: list[str] = []
    for card in _cards_that_paid(order):
        if left <= 0:
            break
        part = min(left, gift_card_refundable(card, reference=order.reference))
        if part <= 0:
            continue
        entry = gift_card_refund(
            card=card,
            amount=part,
            reference=order.reference,
            currency=currency,
            user=user,
            idempotency_key=f"refund-to:{idempotency_key}:{card.pk}",
        )
        references.append(f"gc_{entry.pk}")
        left -= part
    if left > 0:
        raise GiftCardRefundExceedsRedeemed(
            amount=amount, refundable=amount - left, currency=currency
        )
    return ",".join(references)[:100]
