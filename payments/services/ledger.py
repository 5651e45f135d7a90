"""What a recorded capture or refund changes: the payment's cached amounts and status,
the outbox events, and the order's payment status derived from the operations ledger
(docs/payments.md). Called in the transaction of the operation, under the order's and
the payment's row locks."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from orders.models import Order
from orders.services.fulfilment import order_paid_hand_over
from orders.states import order_payment_status_set
from payments.events import ORDER_PAID, PAYMENT_CAPTURED, PAYMENT_REFUNDED
from payments.models import OPEN, PART_CHARGED, Payment
from payments.selectors import order_payment_status_derived
from payments.services.common import payment_update
from unicommerce.actors import acting_user
from unicommerce.events.services import event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

PS = Payment.Status


def payment_capture_apply(payment: Payment, amount: Decimal) -> None:
    """A capture succeeded: cache it on the payment and tell the live screens.

    A part-charged payment (instalments) adds the part, and stays authorised (the rest
    is still to be charged) until its parts add up to its amount."""
    if payment.method in PART_CHARGED:
        captured = payment.captured_amount + amount
        # Still open while parts are due; a charge landing after the rest was released
        # (a plan cancelled mid-charge) leaves it captured.
        still_due = payment.status in OPEN and captured < payment.amount
        status = PS.AUTHORISED if still_due else PS.CAPTURED
        payment_update(payment, status=status, captured_amount=captured)
    else:
        payment_update(payment, status=PS.CAPTURED, captured_amount=amount)
    event_publish(
        topic=PAYMENT_CAPTURED,
        payload={
            "payment_id": payment.pk,
            "order_id": payment.order_id,
            "method": payment.method,
            "amount": str(amount),
            "currency": payment.currency,
        },
    )


def payment_refund_apply(payment: Payment, amount: Decimal) -> None:
    refunded = payment.refunded_amount + amount
    status = PS.REFUNDED if refunded >= payment.captured_amount else PS.PARTIALLY_REFUNDED
    payment_update(payment, status=status, refunded_amount=refunded)
    event_publish(
        topic=PAYMENT_REFUNDED,
        payload={
            "payment_id": payment.pk,
            "order_id": payment.order_id,
            "amount": str(amount),
            "currency": payment.currency,
        },
    )


def order_payment_recompute(
    order: Order,
    *,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Order:
    """Derive the order's payment status from its operations and record it (the caller
    holds the order's row lock, in the transaction of the change). Publishes
    ``order.paid`` when the order becomes paid."""
    status, net = order_payment_status_derived(order)
    previous = order.payment_status
    order_payment_status_set(
        order=order, status=status, paid_amount=net, actor=acting_user(actor), channel=channel
    )
    if status == Order.PaymentStatus.PAID and previous != status:
        # Goods held at the till for this payment leave with the customer now.
        order_paid_hand_over(order=order, user=acting_user(actor), channel=channel)
        event_publish(
            topic=ORDER_PAID,
            payload={
                "order_id": order.pk,
                "reference": order.reference,
                "amount": str(net),
                "currency": order.currency,
            },
        )
    return order
