"""Unpaid orders do not hold stock for ever.

An order placed to be paid later (online after checkout, by a payment link, in store at
collection) reserves its collected and shipped lines. If it is still unpaid after the
delay its payment method allows (``settings.ORDER_UNPAID_EXPIRY_MINUTES``), it is
cancelled: its reservations go back on sale, the timeline says why, and the customer is
told. An order with a payment under way (``orders.payment_methods.payment_in_flight``:
a provider still answering, a live payment link), one partly paid, or one whose goods
were already handed over is left alone: those are for a person to decide.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order, OrderLine
from orders.payment_methods import payment_in_flight
from orders.services.cancellation import order_cancel
from unicommerce.exceptions import DomainError

logger = logging.getLogger(__name__)
BATCH = 200


def orders_unpaid_due(*, now=None) -> list[int]:
    """The unpaid orders whose payment method's delay has run out (oldest first)."""
    now = now or timezone.now()
    due: list[int] = []
    for method, minutes in settings.ORDER_UNPAID_EXPIRY_MINUTES.items():
        if not minutes:
            continue
        due += list(
            Order.objects.filter(
                payment_method=method,
                payment_status=Order.PaymentStatus.UNPAID,
                status=Order.Status.PLACED,
                created_at__lt=now - timedelta(minutes=minutes),
            )
            .exclude(lines__status=OrderLine.Status.FULFILLED)
            .order_by("created_at")
            .values_list("pk", flat=True)[:BATCH]
        )
    return due


def order_unpaid_expire(*, order_id: int) -> bool:
    """Cancel this order if it is still unpaid, placed and nothing is being paid; tell
    the customer. Returns whether it was cancelled (False: paid meanwhile, or not due)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if (
            order.payment_status != Order.PaymentStatus.UNPAID
            or order.status != Order.Status.PLACED
            or OrderLine.objects.filter(order=order, status=OrderLine.Status.FULFILLED).exists()
            or payment_in_flight(order.pk)
        ):
            return False
        order_cancel(
            order=order,
            reason=_("Not paid in time: cancelled, and its items put back on sale."),
        )
        _customer_tell(order)
    return True


def orders_unpaid_expire(*, now=None) -> int:
    """Beat's job: every due order, one short transaction each. Returns how many went."""
    cancelled = 0
    for order_id in orders_unpaid_due(now=now):
        try:
            cancelled += order_unpaid_expire(order_id=order_id)
        except DomainError:
            logger.exception("unpaid order %s could not be cancelled", order_id)
    return cancelled


def _customer_tell(order: Order) -> None:
    """An e-mail if we have one, else an SMS, in this transaction (sent after commit)."""
    from unicommerce.messaging.services import message_send
    from unicommerce.ratelimit import RateLimited

    body = _(
        "Your order %(reference)s was not paid in time, so we have cancelled it and put "
        "its items back on sale. You have not been charged."
    ) % {"reference": order.reference}
    if not order.email and not order.phone:
        return
    try:
        message_send(
            channel="email" if order.email else "sms",
            to=order.email or order.phone,
            subject=_("Your order %(reference)s is cancelled") % {"reference": order.reference},
            body=body,
            kind="order_unpaid_cancelled",
            customer_id=order.customer_id,
            reference=order.reference,
            dedup_key=f"order-unpaid-cancelled:{order.pk}",
        )
    except (RateLimited, DomainError):
        # The cancellation stands; only the message is not sent (its reason is logged).
        logger.warning("order %s cancelled unpaid; the customer could not be told", order.pk)
