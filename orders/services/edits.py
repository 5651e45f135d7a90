"""Editing an order before its preparation starts (its shipment still pending): a line's
quantity (``order_line_quantity_set``), taking a line out (``order_line_remove``), and
fulfilling a line from another location than orchestration chose
(``order_line_relocate``). The reservation follows each change, and the order's total
is recomputed. Same steps as every fulfilment operation (``orders.services.fulfilment``):
lock, re-read, check, change, record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from inventory.models import Location, Reservation
from inventory.services.reservations import reservation_release, stock_reserve
from inventory.services.stock import quantity_check
from orders.exceptions import OrderLineNotEditable, RelocationInvalid
from orders.locks import order_line_lock
from orders.models import Fulfilment, Order, OrderLine, Shipment
from orders.services.order_lines import (
    order_line_reservation_held,
    order_line_reservation_release,
    order_step_record,
    order_totals_recompute,
    shipment_close_if_empty,
)
from unicommerce.actors import acting_user
from unicommerce.money import money_round, vat_included_split

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

SS = Shipment.Status
LS = OrderLine.Status


def _editable(line: OrderLine) -> None:
    shipment_status = line.shipment.status if line.shipment_id else None
    if line.status != LS.OPEN or (line.shipment_id and shipment_status != SS.PENDING):
        raise OrderLineNotEditable(line, shipment_status)


def _reserve_again(
    *, line: OrderLine, order: Order, quantity: int, user: AbstractBaseUser | None
) -> Reservation:
    """Hold ``quantity`` for the line in place of what it holds now, in this
    transaction: release, then reserve (the stock row stays locked until commit, so no
    one takes the freed units in between; on failure everything rolls back). Growing
    needs the extra units available; shrinking always succeeds."""
    old = order_line_reservation_held(line)
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


def _reprice(line: OrderLine, quantity: int, currency: str) -> None:
    """A line's new quantity keeps the net unit price it was sold at (its discounts per
    unit): the order never changes price, only its quantity. The discounts' records
    stay as they were at placement; ``discount_amount`` is the figure that counts."""
    subtotal = money_round(line.unit_price_amount * quantity, currency)
    if line.discount_amount:
        total = min(money_round(line.total_amount * quantity / line.quantity, currency), subtotal)
    else:
        total = subtotal
    line.quantity, line.total_amount, line.discount_amount = quantity, total, subtotal - total
    line.vat_amount = vat_included_split(total, line.vat_rate, currency)


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
    quantity_check(quantity)
    order, line = order_line_lock(line)
    _editable(line)
    if quantity == line.quantity:
        return line
    previous = line.quantity
    reservation = _reserve_again(line=line, order=order, quantity=quantity, user=user)
    _reprice(line, quantity, order.currency)
    line.reservation = reservation
    line.save(
        update_fields=["quantity", "total_amount", "discount_amount", "vat_amount", "reservation"]
    )
    order_totals_recompute(order)
    order_step_record(
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
    order, line = order_line_lock(line)
    _editable(line)
    order_line_reservation_release(line, user)
    line.status = LS.CANCELLED
    line.save(update_fields=["status"])
    shipment_close_if_empty(line.shipment)
    order_totals_recompute(order)
    order_step_record(
        order=order,
        kind="line_removed",
        message=_("%(sku)s removed.") % {"sku": line.sku},
        data={"line": line.pk, "sku": line.sku, "quantity": line.quantity},
        user=user,
        channel=channel,
    )
    return line


def _relocation_check(line: OrderLine, location: Location) -> None:
    """``RelocationInvalid`` unless ``location`` may fulfil the line instead: a shipped
    or click & collect line, another place, an active store or warehouse (a store for
    click & collect)."""
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


def _reserve_elsewhere(
    *, line: OrderLine, order: Order, location: Location, user: AbstractBaseUser | None
) -> Reservation:
    """Hold the line's units at ``location`` (keeping the old reservation's time
    limit), then give back what it held at its old place."""
    old_reservation = order_line_reservation_held(line)
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
    return reservation


def _shipment_pending_at(*, order: Order, kind: str, location: Location) -> Shipment:
    """The order's first pending shipment of ``kind`` at ``location``, or a new one."""
    target = (
        Shipment.objects.filter(order=order, kind=kind, location=location, status=SS.PENDING)
        .order_by("id")
        .first()
    )
    if target is None:
        target = Shipment.objects.create(
            order=order, kind=kind, location=location, status=SS.PENDING
        )
    return target


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
    order, line = order_line_lock(line)
    _editable(line)
    _relocation_check(line, location)
    reservation = _reserve_elsewhere(line=line, order=order, location=location, user=user)
    old_location, old_shipment = line.location, line.shipment
    target = _shipment_pending_at(order=order, kind=line.fulfilment, location=location)
    line.location, line.shipment, line.reservation = location, target, reservation
    line.save(update_fields=["location", "shipment", "reservation"])
    shipment_close_if_empty(old_shipment)
    order_step_record(
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
