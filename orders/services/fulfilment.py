"""Fulfilment: preparing and shipping orders, and handing over what was paid for at the
till. Its siblings: ``orders.services.collect`` (click & collect: ready, collected),
``orders.services.cancellation`` and ``orders.services.edits`` (lines changed before
preparation starts); the steps they share are in ``orders.services.order_lines``.

Every operation follows the same steps, in one transaction: lock the order
(``orders.locks``; every writer of an order's lines, shipments and returns takes it
first, then stock rows in inventory's own order), re-read what it acts on, check,
change, write the timeline and bring the order's status in line
(``order_lines.order_step_record``). A refusal is a typed ``DomainError`` raised before
anything is written, or inside the transaction, which then rolls back: nothing changes
on error.

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

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.exceptions import ShipmentActionRefused, ShipmentLinesInvalid, TrackingMissing
from orders.locks import shipment_lock
from orders.models import Fulfilment, Order, OrderLine, Shipment
from orders.services.order_lines import order_lines_fulfil, order_step_record
from unicommerce.actors import acting_user
from unicommerce.exceptions import InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

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


def shipment_action_allowed(shipment: Shipment, action: str) -> bool:
    """Whether ``SHIPMENT_ALLOWED`` lets ``action`` start from the shipment's status and
    kind."""
    statuses, kinds = SHIPMENT_ALLOWED[action]
    return shipment.status in statuses and shipment.kind in kinds


def shipment_action_check(shipment: Shipment, action: str) -> None:
    """``ShipmentActionRefused`` unless ``action`` may start now
    (``shipment_action_allowed``)."""
    if not shipment_action_allowed(shipment, action):
        raise ShipmentActionRefused(shipment, action)


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
    order, shipment = shipment_lock(shipment)
    shipment_action_check(shipment, action)
    now = timezone.now()
    shipment.status = SHIPMENT_TARGET[action]
    setattr(shipment, stamp, now)
    shipment.save(update_fields=["status", stamp])
    order_step_record(
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


def _ship_split(
    *, order: Order, shipment: Shipment, line_ids: Sequence[int] | None
) -> tuple[list[OrderLine], Shipment | None]:
    """The shipment's open lines that leave in the parcel (all of them, or those of
    ``line_ids``), and the new pending shipment the others move to (None: none stay)."""
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
    if not staying:
        return shipped, None
    remainder = Shipment.objects.create(
        order=order, kind=shipment.kind, location=shipment.location, status=SS.PENDING
    )
    OrderLine.objects.filter(pk__in=[line.pk for line in staying]).update(shipment=remainder)
    return shipped, remainder


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
    order, shipment = shipment_lock(shipment)
    shipment_action_check(shipment, "ship")
    shipped, remainder = _ship_split(order=order, shipment=shipment, line_ids=line_ids)
    order_lines_fulfil(order=order, lines=shipped, user=user)
    shipment.status = SS.SHIPPED
    shipment.carrier = carrier[: Shipment._meta.get_field("carrier").max_length]
    shipment.tracking_number = tracking_number[
        : Shipment._meta.get_field("tracking_number").max_length
    ]
    shipment.shipped_at = timezone.now()
    shipment.save(update_fields=["status", "carrier", "tracking_number", "shipped_at"])
    order_step_record(
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
    order_lines_fulfil(order=order, lines=lines, user=user)
    now = timezone.now()
    shipment_ids = {line.shipment_id for line in lines if line.shipment_id}
    Shipment.objects.filter(pk__in=shipment_ids, status=SS.PENDING).update(
        status=SS.TAKEN, collected_at=now
    )
    order_step_record(
        order=order,
        kind="handed_over",
        message=_("Paid: the goods waiting at %(store)s are handed over.")
        % {"store": lines[0].location.name},
        data={"lines": [line.pk for line in lines], "shipments": sorted(shipment_ids)},
        user=acting_user(user),
        channel=channel,
    )
    return lines
