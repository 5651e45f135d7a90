"""Fulfilment: preparing, shipping and handing over orders, cancelling them and editing
them before preparation starts.

Every operation follows the same steps, in one transaction: lock the order
(``orders.locks.order_lock``; every writer of an order's lines, shipments and returns
takes it first, then stock rows in inventory's own order), re-read what it acts on,
check, change, bring the order's status in line (``orders.states.order_status_sync``) and
write the timeline. A refusal is a typed ``DomainError`` raised before anything is
written, or inside the transaction, which then rolls back: nothing changes on error.

A shipment moves along ``SHIPMENT_ALLOWED``::

    pending ──► picking ──► packed ──► shipped          (kind "ship")
       │           │          │
       └───────────┴──────────┴──► ready ──► collected  (kind "collect")
    pending | picking | packed ──► cancelled            (every line cancelled)

Stock: an order line holds a reservation at its location until it is fulfilled (the
reservation becomes a sale, ledger reason "sale", source the order) or cancelled (the
reservation is released).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import Location, Reservation
from inventory.services import stock_sell
from inventory.services.reservations import (
    reservation_convert,
    reservation_release,
    stock_reserve,
)
from orders.locks import order_lock
from orders.models import Fulfilment, Order, OrderLine, Shipment
from orders.states import order_event_record, order_status_sync
from unicommerce.actors import acting_user
from unicommerce.converters import count_or_none
from unicommerce.exceptions import DomainError, InvalidInput, InvalidTransition, NotFound
from unicommerce.messaging.exceptions import MessageRecipientInvalid
from unicommerce.messaging.services import message_send
from unicommerce.money import money_round
from unicommerce.ratelimit import RateLimited

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from catalog.models import SalesChannel

logger = logging.getLogger(__name__)

SS = Shipment.Status
LS = OrderLine.Status

#: Where each shipment action may start from, and for which kinds of shipment.
SHIPMENT_ALLOWED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "pick": (frozenset({SS.PENDING}), frozenset({Fulfilment.SHIP, Fulfilment.COLLECT})),
    "pack": (frozenset({SS.PICKING}), frozenset({Fulfilment.SHIP, Fulfilment.COLLECT})),
    "ship": (frozenset({SS.PENDING, SS.PICKING, SS.PACKED}), frozenset({Fulfilment.SHIP})),
    "ready": (frozenset({SS.PENDING, SS.PICKING, SS.PACKED}), frozenset({Fulfilment.COLLECT})),
    "collect": (frozenset({SS.READY}), frozenset({Fulfilment.COLLECT})),
}
SHIPMENT_TARGET = {
    "pick": SS.PICKING,
    "pack": SS.PACKED,
    "ship": SS.SHIPPED,
    "ready": SS.READY,
    "collect": SS.COLLECTED,
}
#: Shipments still to be handed over (their open lines may be cancelled).
SHIPMENT_OPEN = frozenset({SS.PENDING, SS.PICKING, SS.PACKED, SS.READY})
PICKUP_CODE_DIGITS = 6


# --- Errors ------------------------------------------------------------------------------


class ShipmentActionRefused(InvalidTransition):
    code = "shipment_transition_refused"

    def __init__(self, shipment: Shipment, action: str) -> None:
        super().__init__(
            _("Shipment %(shipment)s (%(kind)s, %(status)s) cannot be “%(action)s”.")
            % {
                "shipment": shipment.pk,
                "kind": Fulfilment(shipment.kind).label,
                "status": SS(shipment.status).label,
                "action": action,
            },
            shipment=shipment.pk,
            kind=shipment.kind,
            status=shipment.status,
            action=action,
        )


class PickupCodeWrong(InvalidInput):
    code = "pickup_code_wrong"

    def __init__(self, shipment: Shipment) -> None:
        super().__init__(_("This is not the pickup code of this order."), shipment=shipment.pk)


class ShipmentLinesInvalid(InvalidInput):
    code = "shipment_lines_invalid"

    def __init__(self, shipment: Shipment, unknown: Sequence[Any]) -> None:
        super().__init__(
            _("Choose at least one line of this shipment still to fulfil."),
            shipment=shipment.pk,
            unknown=[str(u) for u in unknown],
        )


class TrackingMissing(InvalidInput):
    code = "tracking_missing"

    def __init__(self) -> None:
        super().__init__(_("A shipped parcel needs a carrier and a tracking number."))


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    http_status = 409

    def __init__(self, order: Order) -> None:
        super().__init__(
            _("Order %(order)s has no line left to cancel.") % {"order": order.reference},
            order=order.reference,
            status=order.status,
        )


class OrderLineNotEditable(DomainError):
    code = "order_line_not_editable"
    http_status = 409

    def __init__(self, line: OrderLine, shipment_status: str | None) -> None:
        super().__init__(
            _(
                "Line %(sku)s of order %(order)s can no longer be changed: its preparation "
                "has started or it is closed."
            )
            % {"sku": line.sku, "order": line.order.reference},
            line=line.pk,
            line_status=line.status,
            shipment_status=shipment_status,
        )


class OrderLineNotFound(NotFound):
    code = "order_line_not_found"

    def __init__(self, line_id: object) -> None:
        super().__init__(
            _("There is no order line %(line)s.") % {"line": line_id}, line=str(line_id)
        )


class RelocationInvalid(InvalidInput):
    code = "relocation_invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)


class InvalidOrderQuantity(InvalidInput):
    code = "invalid_quantity"

    def __init__(self, quantity: object) -> None:
        super().__init__(
            _("Quantity must be a whole number above zero (got %(quantity)s).")
            % {"quantity": quantity},
            quantity=str(quantity),
        )


# --- Helpers -----------------------------------------------------------------------------


def _shipment_locked(shipment: Shipment) -> tuple[Order, Shipment]:
    """Lock the shipment's order, then re-read the shipment (its writers all hold the
    order's lock, so what we read now stays true until commit)."""
    order = order_lock(shipment.order_id)
    return order, Shipment.objects.select_related("location").get(pk=shipment.pk)


def _line_locked(line: OrderLine) -> tuple[Order, OrderLine]:
    order = order_lock(line.order_id)
    fresh = (
        OrderLine.objects.select_related("shipment", "location", "reservation")
        .filter(pk=line.pk)
        .first()
    )
    if fresh is None:
        raise OrderLineNotFound(line.pk)
    fresh.order = order
    return order, fresh


def _check_action(shipment: Shipment, action: str) -> None:
    statuses, kinds = SHIPMENT_ALLOWED[action]
    if shipment.status not in statuses or shipment.kind not in kinds:
        raise ShipmentActionRefused(shipment, action)


def _lines_fulfil(
    *, order: Order, lines: Iterable[OrderLine], user: AbstractBaseUser | None
) -> None:
    """The lines' goods leave their location: each reservation becomes a sale (a line
    without one is sold straight from the shelf, all or nothing)."""
    lines = list(lines)
    unreserved: dict[int, list[tuple[int, int]]] = {}
    for line in sorted(lines, key=lambda item: (item.variant_id, item.location_id)):
        reservation = _reservation_held(line)
        if reservation is not None:
            reservation_convert(reservation=reservation, user=acting_user(user), source=order)
        else:
            unreserved.setdefault(line.location_id, []).append((line.variant_id, line.quantity))
    for location_id, items in sorted(unreserved.items()):
        stock_sell(location_id=location_id, lines=items, user=acting_user(user), source=order)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=LS.FULFILLED)
    for line in lines:
        line.status = LS.FULFILLED


def _reservation_held(line: OrderLine) -> Reservation | None:
    """The line's reservation if it still holds its units (active, not past its time)."""
    if line.reservation_id is None:
        return None
    reservation = Reservation.objects.filter(pk=line.reservation_id).first()
    if reservation is None or reservation.status != Reservation.Status.ACTIVE:
        return None
    if reservation.expires_at is not None and reservation.expires_at <= timezone.now():
        return None
    return reservation


def _reservation_release_if_active(line: OrderLine, user: AbstractBaseUser | None) -> None:
    """Give the line's reserved units back (an expired one is left to the expiry task,
    which releases it exactly once)."""
    reservation = _reservation_held(line)
    if reservation is not None:
        reservation_release(reservation=reservation, user=acting_user(user))


def _order_totals_recompute(order: Order) -> None:
    """The order total is what its live (not cancelled) lines cost."""
    total = OrderLine.objects.filter(order=order).exclude(status=LS.CANCELLED).aggregate(
        total=Sum("total_amount")
    )["total"] or Decimal("0.00")
    total = money_round(total, order.currency)
    if total != order.total_amount:
        Order.objects.filter(pk=order.pk).update(total_amount=total, updated_at=timezone.now())
        order.total_amount = total


def _shipment_close_if_empty(shipment: Shipment | None) -> None:
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


def _editable(line: OrderLine) -> None:
    shipment_status = line.shipment.status if line.shipment_id else None
    if line.status != LS.OPEN or (line.shipment_id and shipment_status != SS.PENDING):
        raise OrderLineNotEditable(line, shipment_status)


def _check_quantity(quantity: object) -> int:
    if (count := count_or_none(quantity)) is None:
        raise InvalidOrderQuantity(quantity)
    return count


def _finish(
    *,
    order: Order,
    kind: str,
    message: str,
    data: dict[str, Any],
    user: AbstractBaseUser | None,
    channel: SalesChannel | None,
) -> Order:
    order_event_record(
        order=order, kind=kind, message=message, data=data, actor=user, channel=channel
    )
    return order_status_sync(order=order, actor=user, channel=channel)


# --- Preparing and shipping --------------------------------------------------------------


def _shipment_step(
    *,
    shipment: Shipment,
    action: str,
    stamp: str,
    user: AbstractBaseUser | None,
    channel: SalesChannel | None,
    message: str,
) -> Shipment:
    order, shipment = _shipment_locked(shipment)
    _check_action(shipment, action)
    now = timezone.now()
    shipment.status = SHIPMENT_TARGET[action]
    setattr(shipment, stamp, now)
    shipment.save(update_fields=["status", stamp])
    _finish(
        order=order,
        kind=f"shipment_{shipment.status}",
        message=message,
        data={"shipment": shipment.pk, "location": shipment.location.code},
        user=user,
        channel=channel,
    )
    return shipment


@transaction.atomic
def shipment_pick_start(
    *,
    shipment: Shipment,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """Someone starts picking the shipment's goods: the order is being processed, and
    its lines can no longer be edited."""
    return _shipment_step(
        shipment=shipment,
        action="pick",
        stamp="picked_at",
        user=user,
        channel=channel,
        message=_("Picking started."),
    )


@transaction.atomic
def shipment_pack(
    *,
    shipment: Shipment,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """The goods are picked and packed."""
    return _shipment_step(
        shipment=shipment,
        action="pack",
        stamp="packed_at",
        user=user,
        channel=channel,
        message=_("Packed."),
    )


@transaction.atomic
def shipment_ship(
    *,
    shipment: Shipment,
    carrier: str,
    tracking_number: str,
    line_ids: Sequence[int] | None = None,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """The parcel leaves with ``carrier`` under ``tracking_number``.

    With ``line_ids``, only those lines are in the parcel: the shipment's other open
    lines move to a new pending shipment of the same kind and location, still reserved.
    The shipped lines' reservations become sales and the lines are fulfilled.
    """
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise TrackingMissing()
    order, shipment = _shipment_locked(shipment)
    _check_action(shipment, "ship")
    open_lines = list(OrderLine.objects.filter(shipment=shipment, status=LS.OPEN))
    shipped, staying = open_lines, []
    if line_ids is not None:
        wanted = list(line_ids)
        by_id = {line.pk: line for line in open_lines}
        unknown = [i for i in wanted if i not in by_id]
        if unknown or not wanted:
            raise ShipmentLinesInvalid(shipment, unknown)
        shipped = [by_id[i] for i in sorted(set(wanted))]
        staying = [line for line in open_lines if line.pk not in set(wanted)]
    if not shipped:
        raise ShipmentLinesInvalid(shipment, [])
    remainder = None
    if staying:
        remainder = Shipment.objects.create(
            order=order, kind=shipment.kind, location=shipment.location, status=SS.PENDING
        )
        OrderLine.objects.filter(pk__in=[line.pk for line in staying]).update(shipment=remainder)
    _lines_fulfil(order=order, lines=shipped, user=user)
    shipment.status = SS.SHIPPED
    shipment.carrier = carrier[: Shipment._meta.get_field("carrier").max_length]
    shipment.tracking_number = tracking_number[
        : Shipment._meta.get_field("tracking_number").max_length
    ]
    shipment.shipped_at = timezone.now()
    shipment.save(update_fields=["status", "carrier", "tracking_number", "shipped_at"])
    _finish(
        order=order,
        kind="shipment_shipped",
        message=_("Shipped with %(carrier)s, tracking %(tracking)s.")
        % {"carrier": shipment.carrier, "tracking": shipment.tracking_number},
        data={
            "shipment": shipment.pk,
            "location": shipment.location.code,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "lines": [line.pk for line in shipped],
            "remainder_shipment": remainder.pk if remainder else None,
        },
        user=user,
        channel=channel,
    )
    return shipment


# --- Click & collect ---------------------------------------------------------------------


def pickup_code_new() -> str:
    return f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"


def _pickup_notify(*, order: Order, shipment: Shipment) -> str:
    """Tell the customer the order is ready, by SMS when a phone is known, else by
    e-mail; queued in this transaction (sent by a worker after commit), once per
    shipment. Returns the channel used, or "" when the customer cannot be reached."""
    customer = order.customer
    phone = order.phone or (customer.phone if customer else "") or ""
    email = order.email or (customer.email if customer else "") or ""
    values = {
        "reference": order.reference,
        "store": shipment.location.name,
        "code": shipment.pickup_code,
    }
    body = (
        _(
            "Your order %(reference)s is ready for pickup at %(store)s. "
            "Show this code at the counter: %(code)s."
        )
        % values
    )
    common = {
        "body": body,
        "kind": "order.ready_for_pickup",
        "customer_id": order.customer_id,
        "reference": order.reference,
        "dedup_key": f"shipment-ready:{shipment.pk}",
        # The code hands the parcel over: it must not outlive the message in our tables.
        "redact_after_send": True,
    }
    if phone:
        try:
            message_send(channel="sms", to=phone, **common)
            return "sms"
        except MessageRecipientInvalid:
            pass  # an unusable number (or a country SMS may not go to): try the e-mail
        except RateLimited:
            logger.warning("pickup SMS for %s over the SMS limits; trying e-mail", order.reference)
    if email:
        try:
            subject = _("Your order %(reference)s is ready for pickup") % values
            message_send(channel="email", to=email, subject=subject, **common)
            return "email"
        except MessageRecipientInvalid:
            pass
    return ""


@transaction.atomic
def shipment_ready(
    *,
    shipment: Shipment,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """A click & collect order waits at the store: a 6-digit pickup code is drawn and
    the customer is told (SMS, else e-mail) with the code and the store."""
    order, shipment = _shipment_locked(shipment)
    _check_action(shipment, "ready")
    shipment.status = SS.READY
    shipment.ready_at = timezone.now()
    shipment.pickup_code = pickup_code_new()
    shipment.save(update_fields=["status", "ready_at", "pickup_code"])
    order = Order.objects.select_related("customer").get(pk=order.pk)
    notified = _pickup_notify(order=order, shipment=shipment)
    _finish(
        order=order,
        kind="shipment_ready",
        message=_("Ready for pickup at %(store)s.") % {"store": shipment.location.name},
        data={
            "shipment": shipment.pk,
            "location": shipment.location.code,
            "notified_by": notified,
        },
        user=user,
        channel=channel,
    )
    return shipment


@transaction.atomic
def shipment_collect(
    *,
    shipment: Shipment,
    code: str,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """The customer collects the goods against their pickup code: the reservations
    become sales and the lines are fulfilled. A wrong code changes nothing."""
    order, shipment = _shipment_locked(shipment)
    _check_action(shipment, "collect")
    typed = "".join((code or "").split())
    if not shipment.pickup_code or not secrets.compare_digest(
        typed.encode(), shipment.pickup_code.encode()
    ):
        raise PickupCodeWrong(shipment)
    lines = list(OrderLine.objects.filter(shipment=shipment, status=LS.OPEN))
    _lines_fulfil(order=order, lines=lines, user=user)
    shipment.status = SS.COLLECTED
    shipment.collected_at = timezone.now()
    shipment.save(update_fields=["status", "collected_at"])
    _finish(
        order=order,
        kind="shipment_collected",
        message=_("Collected at %(store)s.") % {"store": shipment.location.name},
        data={
            "shipment": shipment.pk,
            "location": shipment.location.code,
            "lines": [line.pk for line in lines],
        },
        user=user,
        channel=channel,
    )
    return shipment


# --- Handing over what was paid for at the till -----------------------------------------


def order_paid_hand_over(
    *,
    order: Order,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> list[OrderLine]:
    """The order is paid in full: its taken-now lines held at the till for the payment
    (checkout with a method paid later: "pay in store", a payment link…) are handed over
    now: their reservations become sales, the lines are fulfilled, their shipment is
    taken, the timeline says so. Called by the payments app in the transaction that makes
    the order paid, whatever paid it (the till's payment panel, a link, the API, the
    admin); the caller holds the order's row lock. Returns the lines handed over (none:
    nothing was waiting)."""
    if order.payment_status != Order.PaymentStatus.PAID:
        raise InvalidInput(
            _("Order %(reference)s is not paid: its goods stay in the store.")
            % {"reference": order.reference}
        )
    lines = list(
        OrderLine.objects.filter(order=order, fulfilment=Fulfilment.TAKEN_NOW, status=LS.OPEN)
        .select_related("location")
        .order_by("variant_id", "location_id", "id")
    )
    if not lines:
        return []
    _lines_fulfil(order=order, lines=lines, user=user)
    now = timezone.now()
    shipment_ids = {line.shipment_id for line in lines if line.shipment_id}
    Shipment.objects.filter(pk__in=shipment_ids, status=SS.PENDING).update(
        status=SS.TAKEN, collected_at=now
    )
    _finish(
        order=order,
        kind="handed_over",
        message=_("Paid: the goods waiting at %(store)s are handed over.")
        % {"store": lines[0].location.name},
        data={"lines": [line.pk for line in lines], "shipments": sorted(shipment_ids)},
        user=acting_user(user),
        channel=channel,
    )
    return lines


# --- Cancelling and editing --------------------------------------------------------------


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    reason: str = "",
) -> Order:
    """Cancel every line not yet fulfilled and give its reserved units back.

    Nothing fulfilled yet: the whole order is cancelled. Otherwise only the open lines
    are, and the order ends fulfilled with what was handed over.
    """
    order = order_lock(order.pk)
    lines = list(
        OrderLine.objects.filter(order=order, status=LS.OPEN)
        .select_related("shipment")
        .order_by("variant_id", "location_id", "id")
    )
    if not lines:
        raise OrderNotCancellable(order)
    for line in lines:
        _reservation_release_if_active(line, user)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=LS.CANCELLED)
    for shipment in {line.shipment for line in lines if line.shipment is not None}:
        _shipment_close_if_empty(shipment)
    _order_totals_recompute(order)
    return _finish(
        order=order,
        kind="cancelled",
        message=reason[:255] or _("Cancelled."),
        data={"lines": [line.pk for line in lines], "reason": reason[:255]},
        user=user,
        channel=channel,
    )


def _reserve_again(
    *, line: OrderLine, order: Order, quantity: int, user: AbstractBaseUser | None
) -> Reservation:
    """Hold ``quantity`` for the line in place of what it holds now, in this
    transaction: release, then reserve (the stock row stays locked until commit, so no
    one takes the freed units in between; on failure everything rolls back). Growing
    needs the extra units available; shrinking always succeeds."""
    old = _reservation_held(line)
    expires_at = old.expires_at if old is not None else None
    if old is not None:
        reservation_release(reservation=old, user=acting_user(user))
    return stock_reserve(
        variant_id=line.variant_id,
        location_id=line.location_id,
        quantity=quantity,
        expires_at=expires_at,
        channel=order.channel,
        reference=order.reference,
        user=acting_user(user),
        keep_safety=old is None or quantity > old.quantity,
    )


@transaction.atomic
def order_line_quantity_set(
    *,
    line: OrderLine,
    quantity: int,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> OrderLine:
    """Change how many units a line orders, while its shipment is still to prepare: the
    reservation follows and the totals are recomputed."""
    _check_quantity(quantity)
    order, line = _line_locked(line)
    _editable(line)
    if quantity == line.quantity:
        return line
    previous = line.quantity
    reservation = _reserve_again(line=line, order=order, quantity=quantity, user=user)
    line.quantity = quantity
    line.total_amount = money_round(line.unit_price_amount * quantity, order.currency)
    line.reservation = reservation
    line.save(update_fields=["quantity", "total_amount", "reservation"])
    _order_totals_recompute(order)
    _finish(
        order=order,
        kind="line_quantity_changed",
        message=_("%(sku)s: quantity %(before)s → %(after)s.")
        % {"sku": line.sku, "before": previous, "after": quantity},
        data={"line": line.pk, "sku": line.sku, "from": previous, "to": quantity},
        user=user,
        channel=channel,
    )
    return line


@transaction.atomic
def order_line_remove(
    *,
    line: OrderLine,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> OrderLine:
    """Take a line out of the order before its preparation starts (it stays on the order,
    cancelled, for the record); its reserved units go back."""
    order, line = _line_locked(line)
    _editable(line)
    _reservation_release_if_active(line, user)
    line.status = LS.CANCELLED
    line.save(update_fields=["status"])
    _shipment_close_if_empty(line.shipment)
    _order_totals_recompute(order)
    _finish(
        order=order,
        kind="line_removed",
        message=_("%(sku)s removed.") % {"sku": line.sku},
        data={"line": line.pk, "sku": line.sku, "quantity": line.quantity},
        user=user,
        channel=channel,
    )
    return line


@transaction.atomic
def order_line_relocate(
    *,
    line: OrderLine,
    location: Location,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> OrderLine:
    """Staff override of orchestration: fulfil the line from ``location`` instead.

    The units are reserved at the new place first, then released at the old one, so a
    refusal (not enough there) leaves the line as it was. The line joins the order's
    pending shipment of the same kind at the new place (or a new one).
    """
    order, line = _line_locked(line)
    _editable(line)
    if line.fulfilment not in (Fulfilment.SHIP, Fulfilment.COLLECT):
        raise RelocationInvalid(
            _("Only shipped and click & collect lines can be fulfilled elsewhere."),
            line=line.pk,
            fulfilment=line.fulfilment,
        )
    if location.pk == line.location_id:
        raise RelocationInvalid(
            _("The line is already fulfilled from %(location)s.") % {"location": location.name},
            line=line.pk,
            location=location.code,
        )
    if not location.is_active or location.kind not in (
        Location.Kind.STORE,
        Location.Kind.WAREHOUSE,
    ):
        raise RelocationInvalid(
            _("%(location)s cannot fulfil orders.") % {"location": location.name},
            line=line.pk,
            location=location.code,
        )
    if line.fulfilment == Fulfilment.COLLECT and location.kind != Location.Kind.STORE:
        raise RelocationInvalid(
            _("Click & collect happens in a store."), line=line.pk, location=location.code
        )
    old_reservation = _reservation_held(line)
    reservation = stock_reserve(
        variant_id=line.variant_id,
        location_id=location.pk,
        quantity=line.quantity,
        expires_at=old_reservation.expires_at if old_reservation is not None else None,
        channel=order.channel,
        reference=order.reference,
        user=acting_user(user),
    )
    if old_reservation is not None:
        reservation_release(reservation=old_reservation, user=acting_user(user))
    old_location, old_shipment = line.location, line.shipment
    target = (
        Shipment.objects.filter(
            order=order, kind=line.fulfilment, location=location, status=SS.PENDING
        )
        .order_by("id")
        .first()
    )
    if target is None:
        target = Shipment.objects.create(
            order=order, kind=line.fulfilment, location=location, status=SS.PENDING
        )
    line.location, line.shipment, line.reservation = location, target, reservation
    line.save(update_fields=["location", "shipment", "reservation"])
    _shipment_close_if_empty(old_shipment)
    _finish(
        order=order,
        kind="line_relocated",
        message=_("%(sku)s: fulfilled from %(new)s instead of %(old)s.")
        % {"sku": line.sku, "new": location.name, "old": old_location.name},
        data={
            "line": line.pk,
            "sku": line.sku,
            "from": old_location.code,
            "to": location.code,
            "shipment": target.pk,
        },
        user=user,
        channel=channel,
    )
    return line
