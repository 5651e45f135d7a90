"""The order state machine and its timeline.

    placed ──► processing ──► partially_fulfilled ──► fulfilled
      │            │                                     ▲
      ├────────────┴──► cancelled                        │
      └──────────────────────────────────────────────────┘ (all lines fulfilled at once)

An order's status follows from its lines and shipments (``order_status_derived``):
every line cancelled → cancelled; every remaining line fulfilled → fulfilled; some
fulfilled → partially fulfilled; a shipment being prepared → processing; else placed.
Services change lines and shipments, then call ``order_status_sync``, which moves the
order along ``ALLOWED`` and writes the move into the timeline; a move not in the table is
refused (``OrderTransitionRefused``) and the caller's transaction rolls back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from orders.models import Order, OrderEvent, OrderLine, Shipment
from unicommerce.exceptions import InvalidTransition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

S = Order.Status

ALLOWED: dict[str, frozenset[str]] = {
    S.PLACED: frozenset({S.PROCESSING, S.PARTIALLY_FULFILLED, S.FULFILLED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.PLACED, S.PARTIALLY_FULFILLED, S.FULFILLED, S.CANCELLED}),
    S.PARTIALLY_FULFILLED: frozenset({S.FULFILLED}),
    S.FULFILLED: frozenset(),
    S.CANCELLED: frozenset(),
}

OPEN_STATUSES = frozenset({S.PLACED, S.PROCESSING})
IN_PREPARATION = frozenset({Shipment.Status.PICKING, Shipment.Status.PACKED, Shipment.Status.READY})


class OrderTransitionRefused(InvalidTransition):
    code = "order_transition_refused"

    def __init__(self, order: Order, to: str) -> None:
        super().__init__(
            _("Order %(order)s cannot go from “%(from)s” to “%(to)s”.")
            % {
                "order": order.reference,
                "from": S(order.status).label,
                "to": S(to).label,
            },
            order=order.reference,
            status=order.status,
            wanted=to,
        )


def order_event_record(
    *,
    order: Order,
    kind: str,
    message: str = "",
    data: dict[str, Any] | None = None,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    from_status: str = "",
    to_status: str = "",
) -> OrderEvent:
    """Append one entry to the order's timeline (in the caller's transaction)."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        message=message[:255],
        data=data or {},
        actor=actor if actor is not None and actor.is_authenticated else None,
        channel=channel,
        from_status=from_status,
        to_status=to_status,
    )


def order_status_derived(order: Order) -> str:
    """The status the order's lines and shipments say it is in."""
    statuses = list(OrderLine.objects.filter(order=order).values_list("status", flat=True))
    live = [s for s in statuses if s != OrderLine.Status.CANCELLED]
    if not live:
        return S.CANCELLED
    done = sum(1 for s in live if s == OrderLine.Status.FULFILLED)
    if done == len(live):
        return S.FULFILLED
    if done:
        return S.PARTIALLY_FULFILLED
    if Shipment.objects.filter(order=order, status__in=IN_PREPARATION).exists():
        return S.PROCESSING
    return S.PLACED


def order_transition(
    *,
    order: Order,
    to: str,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> Order:
    """Move the order to ``to`` if the table allows it, and record it. The caller holds
    the order's row lock (``orders.locks.order_lock``)."""
    if order.status == to:
        return order
    if to not in ALLOWED[order.status]:
        raise OrderTransitionRefused(order, to)
    previous = order.status
    Order.objects.filter(pk=order.pk).update(status=to)
    order.status = to
    order_event_record(
        order=order,
        kind="status",
        message=message,
        data=data,
        actor=actor,
        channel=channel,
        from_status=previous,
        to_status=to,
    )
    return order


def order_status_sync(
    *,
    order: Order,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    message: str = "",
) -> Order:
    """Bring the order's status in line with its lines and shipments."""
    return order_transition(
        order=order,
        to=order_status_derived(order),
        actor=actor,
        channel=channel,
        message=message,
    )


def order_payment_status_set(
    *,
    order: Order,
    status: str,
    paid_amount: object = None,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Order:
    """Record what the order's payments add up to (called by the payments app, which
    derives it from its operations); a change is written into the timeline."""
    if status not in Order.PaymentStatus.values:
        raise ValueError(status)
    if order.payment_status == status:
        return order
    previous = order.payment_status
    Order.objects.filter(pk=order.pk).update(payment_status=status)
    order.payment_status = status
    order_event_record(
        order=order,
        kind="payment",
        actor=actor,
        channel=channel,
        from_status=previous,
        to_status=status,
        data={"paid_amount": str(paid_amount)} if paid_amount is not None else None,
    )
    return order
