"""What every step of fulfilment, cancellation and editing does to an order's lines and
shipments, one public function each: the lines' goods leave (``order_lines_fulfil``),
their reserved units go back (``order_line_reservation_release``), the order's total
follows its live lines (``order_totals_recompute``), an emptied shipment closes
(``shipment_close_if_empty``), and the step ends on the timeline with the order's status
brought in line (``order_step_record``).

They run inside the caller's transaction, with the order's lock held
(``orders.locks``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Sum
from django.utils import timezone

from inventory.models import Reservation
from inventory.services.reservations import reservation_convert, reservation_release
from inventory.services.stock import stock_sell
from orders.models import Order, OrderLine, Shipment
from orders.states import order_event_record, order_status_sync
from unicommerce.actors import acting_user
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

SS = Shipment.Status
LS = OrderLine.Status

#: Shipments still to be handed over (their open lines may be cancelled).
SHIPMENT_OPEN = frozenset({SS.PENDING, SS.PICKING, SS.PACKED, SS.READY})


def order_line_reservation_held(line: OrderLine) -> Reservation | None:
    """The line's reservation if it still holds its units (active, not past its time)."""
    if line.reservation_id is None:
        return None
    reservation = Reservation.objects.filter(pk=line.reservation_id).first()
    if reservation is None or reservation.status != Reservation.Status.ACTIVE:
        return None
    if reservation.expires_at is not None and reservation.expires_at <= timezone.now():
        return None
    return reservation


def order_line_reservation_release(line: OrderLine, user: AbstractBaseUser | None) -> None:
    """Give the line's reserved units back (an expired one is left to the expiry task,
    which releases it exactly once)."""
    reservation = order_line_reservation_held(line)
    if reservation is not None:
        reservation_release(reservation=reservation, user=acting_user(user))


def order_lines_fulfil(
    *, order: Order, lines: Iterable[OrderLine], user: AbstractBaseUser | None
) -> None:
    """The lines' goods leave their location: each reservation becomes a sale (a line
    without one is sold straight from the shelf, all or nothing)."""
    lines = list(lines)
    unreserved: dict[int, list[tuple[int, int]]] = {}
    for line in sorted(lines, key=lambda item: (item.variant_id, item.location_id)):
        reservation = order_line_reservation_held(line)
        if reservation is not None:
            reservation_convert(reservation=reservation, user=acting_user(user), source=order)
        else:
            unreserved.setdefault(line.location_id, []).append((line.variant_id, line.quantity))
    for location_id, items in sorted(unreserved.items()):
        stock_sell(location_id=location_id, lines=items, user=acting_user(user), source=order)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=LS.FULFILLED)
    for line in lines:
        line.status = LS.FULFILLED


def order_totals_recompute(order: Order) -> None:
    """The order total is what its live (not cancelled) lines cost."""
    total = OrderLine.objects.filter(order=order).exclude(status=LS.CANCELLED).aggregate(
        total=Sum("total_amount")
    )["total"] or Decimal("0.00")
    total = money_round(total, order.currency)
    if total != order.total_amount:
        Order.objects.filter(pk=order.pk).update(total_amount=total, updated_at=timezone.now())
        order.total_amount = total


def shipment_close_if_empty(shipment: Shipment | None) -> None:
    """A shipment whose lines are all cancelled is cancelled; one left with no line at all
    (its lines moved elsewhere before anything happened to it) is removed."""
    if shipment is None or shipment.status not in SHIPMENT_OPEN:
        return
    statuses = set(OrderLine.objects.filter(shipment=shipment).values_list("status", flat=True))
    if not statuses:
        Shipment.objects.filter(pk=shipment.pk).delete()
    elif statuses == {LS.CANCELLED}:
        Shipment.objects.filter(pk=shipment.pk).update(status=SS.CANCELLED)
        shipment.status = SS.CANCELLED


def order_step_record(
    *,
    order: Order,
    kind: str,
    message: str,
    data: dict[str, Any],
    user: AbstractBaseUser | None,
    channel: SalesChannel | None,
) -> Order:
    """End a step: write it on the order's timeline, then bring the order's status in
    line with its lines and shipments."""
    order_event_record(
        order=order, kind=kind, message=message, data=data, actor=user, channel=channel
    )
    return order_status_sync(order=order, actor=user, channel=channel)
