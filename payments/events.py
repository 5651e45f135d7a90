"""Payments' events: the topics it publishes, and how it reacts to its own and others'.

Imported by ``PaymentsConfig.ready()``, which registers the subscriptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from unicommerce.events.registry import subscribe, topic
from unicommerce.messaging.events import MESSAGE_SENT

if TYPE_CHECKING:
    from unicommerce.events.models import OutboxEvent

PAYMENT_CAPTURED = topic(
    "payment.captured",
    payload={
        "payment_id": "the payment captured (or charged a part, for an instalment plan)",
        "order_id": "its order",
        "method": "the payment method (card_online, payment_link, instalment…)",
        "amount": "what this capture took, a decimal string",
        "currency": "ISO 4217 code",
    },
    doc="Money was taken: a capture (or a plan's part) succeeded, at once or by webhook.",
)
PAYMENT_REFUNDED = topic(
    "payment.refunded",
    payload={
        "payment_id": "the payment refunded (for a refund to another method, its own row)",
        "order_id": "its order",
        "method": "only for a refund to another method: that method (cash, store_credit…)",
        "amount": "what this refund gave back, a decimal string",
        "currency": "ISO 4217 code",
    },
    doc="Money was given back, to the original payment or by another method.",
)
ORDER_PAID = topic(
    "order.paid",
    payload={
        "order_id": "the order",
        "reference": "its reference",
        "amount": "what was captured on it, net of refunds, a decimal string",
        "currency": "ISO 4217 code",
    },
    doc="An order became paid (in full, or covered by a running instalment plan).",
)


@subscribe(PAYMENT_CAPTURED)
def on_payment_captured(event: OutboxEvent) -> None:
    """A payment confirmed by webhook (or a plan's part): its links become paid."""
    from payments.services.links import payment_links_paid_record

    payment_id = (event.payload or {}).get("payment_id")
    if payment_id is not None:
        payment_links_paid_record(payment_id=payment_id)


@subscribe(ORDER_PAID)
def on_order_paid(event: OutboxEvent) -> None:
    """Once the order is paid some other way (cash at the till, another link), its
    links still waiting are cancelled, so nobody pays twice; a link whose payment is
    under way is left to it."""
    from payments.services.links import payment_links_cancel_unused

    order_id = (event.payload or {}).get("order_id")
    if order_id is not None:
        payment_links_cancel_unused(order_id=order_id)


@subscribe(MESSAGE_SENT)
def on_message_sent(event: OutboxEvent) -> None:
    """The worker sent an SMS: a payment link waiting for it says ``sent`` now."""
    from payments.services.links import payment_links_sent_record

    payload = event.payload or {}
    if payload.get("kind") == "payment_link" and payload.get("message_id") is not None:
        payment_links_sent_record(message_ids=[payload["message_id"]])


# --- Points (issue 14) ------------------------------------------------------------------


@subscribe(ORDER_PAID)
def on_order_paid_points_earn(event: OutboxEvent) -> None:
    """A paid order earns its customer loyalty points (orders.services.points), once:
    the earn's key is the order's, so a replayed event writes nothing."""
    from orders.models import Order
    from orders.services.points import order_points_earn

    order = Order.objects.filter(pk=(event.payload or {}).get("order_id")).first()
    if order is not None:
        order_points_earn(order)


# --- Gift cards (issue 14)


@subscribe(ORDER_PAID)
def on_order_paid_gift_cards(event: OutboxEvent) -> None:
    """A paid order that sells gift cards: each unit becomes a card, sent by e-mail or
    SMS (``orders.services.gift_card_sales``). A store's sales are the till's to issue
    (with the scanned cards' codes), never the event's."""
    from orders.models import Order
    from orders.services.gift_card_sales import (
        order_gift_cards_issue,
        order_gift_cards_issued_by_till,
    )

    order_id = (event.payload or {}).get("order_id")
    order = Order.objects.select_related("channel").filter(pk=order_id).first()
    if order is not None and not order_gift_cards_issued_by_till(order):
        order_gift_cards_issue(order)
