"""Suppliers' purchase orders: draft → sent → partially received → received (or cancelled).

A sent order's outstanding units are ``incoming`` at its location; each receipt moves
them into ``on_hand`` through the stock ledger (reason RECEIPT, the order as source).
Every transition locks the order row first, checks ``TRANSITIONS`` and only then
calls the stock primitives (which lock the stock levels in variant order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Variant
from inventory.events import STOCK_CHANGED
from inventory.exceptions import (
    DraftPurchaseOrderExists,
    DuplicateLine,
    EmptyPurchaseOrder,
    EmptyReceipt,
    InvalidLine,
    InvalidQuantity,
    InvalidUnitCost,
    PurchaseReceiptExceedsOutstanding,
    PurchaseVariantUnknown,
    SupplierInactive,
    VariantNotOnOrder,
    VariantNotSoldBySupplier,
)
from inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    StockMovement,
    Supplier,
    SupplierItem,
)
from inventory.services.stock import quantity_check, stock_incoming_change, stock_receive_many
from unicommerce.events.services import event_publish
from unicommerce.exceptions import InvalidTransition
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = PurchaseOrder.Status

# From each status, the statuses an order may move to. Nothing leaves received/cancelled;
# a sent order may be cancelled only while nothing has been received (still "sent").
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SENT, Status.CANCELLED}),
    Status.SENT: frozenset({Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CANCELLED}),
    Status.PARTIALLY_RECEIVED: frozenset({Status.PARTIALLY_RECEIVED, Status.RECEIVED}),
    Status.RECEIVED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# What each operation is called in messages ("PO000012 is received: it cannot be sent").
ACTIONS = {
    "send": gettext_lazy("sent"),
    "receive": gettext_lazy("received"),
    "cancel": gettext_lazy("cancelled"),
    "edit": gettext_lazy("edited"),
}


# --------------------------------------------------------------------------- errors


class PurchaseOrderTransitionRefused(InvalidTransition):
    code = "purchase_order_invalid_transition"

    def __init__(self, order: PurchaseOrder, action: str) -> None:
        super().__init__(
            _("%(order)s is %(status)s: it cannot be %(action)s.")
            % {"order": order, "status": order.get_status_display(), "action": ACTIONS[action]},
            order=str(order),
            status=order.status,
            action=action,
        )


# --------------------------------------------------------------------------- helpers


def _lock(order: PurchaseOrder) -> PurchaseOrder:
    """The order row, locked for this transaction (its supplier and location read along)."""
    return (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("supplier", "location")
        .get(pk=order.pk)
    )


def _check_transition(order: PurchaseOrder, target: str, action: str) -> None:
    if target not in TRANSITIONS[order.status]:
        raise PurchaseOrderTransitionRefused(order, action)


def _unit_cost(cost: object, currency: str) -> Decimal:
    if isinstance(cost, bool) or not isinstance(cost, Decimal | int) or cost < 0:
        raise InvalidUnitCost(cost)
    if isinstance(cost, Decimal) and not cost.is_finite():
        raise InvalidUnitCost(cost)
    return money_round(Decimal(cost), currency)


def _skus(variant_ids: Sequence[int]) -> dict[int, str]:
    found = dict(Variant.objects.filter(pk__in=variant_ids).values_list("pk", "sku"))
    missing = [v for v in variant_ids if v not in found]
    if missing:
        raise PurchaseVariantUnknown(missing)
    return found


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _lines_resolve(
    *, supplier: Supplier, lines: Sequence[Sequence], currency: str
) -> list[tuple[int, int, Decimal]]:
    """(variant_id, quantity[, unit_cost]) → (variant_id, quantity, unit_cost), checked."""
    if not lines:
        raise EmptyPurchaseOrder()
    parsed: list[tuple[int, int, Decimal | None]] = []
    for line in lines:
        if not isinstance(line, list | tuple) or len(line) not in (2, 3):
            raise InvalidLine(line)
        variant_id, quantity, *rest = line
        if isinstance(variant_id, bool) or not isinstance(variant_id, int):
            raise PurchaseVariantUnknown([variant_id])
        cost = _unit_cost(rest[0], currency) if rest and rest[0] is not None else None
        parsed.append((variant_id, quantity_check(quantity), cost))
    skus = _skus([variant_id for variant_id, _q, _c in parsed])
    seen: set[int] = set()
    for variant_id, _q, _c in parsed:
        if variant_id in seen:
            raise DuplicateLine(skus[variant_id])
        seen.add(variant_id)
    costs = dict(
        SupplierItem.objects.filter(supplier=supplier, variant_id__in=seen).values_list(
            "variant_id", "unit_cost_amount"
        )
    )
    resolved = []
    for variant_id, quantity, cost in parsed:
        if cost is None:
            if variant_id not in costs:
                raise VariantNotSoldBySupplier(sku=skus[variant_id], supplier=supplier)
            cost = costs[variant_id]
        resolved.append((variant_id, quantity, cost))
    return resolved


def _publish_incoming(order: PurchaseOrder, variant_ids: Sequence[int]) -> None:
    """``incoming`` changed: replenishment (and anyone else) re-reads these levels."""
    event_publish(
        topic=STOCK_CHANGED,
        payload={
            "variant_ids": sorted(set(variant_ids)),
            "location_ids": [order.location_id],
            "reason": "incoming",
        },
    )


# --------------------------------------------------------------------------- drafts


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    location: Location,
    lines: Sequence[Sequence],
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> PurchaseOrder:
    """A draft order to ``supplier``, delivered to ``location``.

    ``lines`` are (variant_id, quantity) with the cost from the supplier's catalogue, or
    (variant_id, quantity, unit_cost). There is at most one draft per supplier and
    location (a partial unique constraint): when it exists, add lines to it instead.
    """
    supplier = Supplier.objects.get(pk=supplier.pk)
    if not supplier.is_active:
        raise SupplierInactive(supplier)
    currency = PurchaseOrder._meta.get_field("currency").get_default()
    resolved = _lines_resolve(supplier=supplier, lines=lines, currency=currency)
    try:
        with transaction.atomic():  # a savepoint: the constraint may refuse the row
            order = PurchaseOrder.objects.create(
                supplier=supplier,
                location=location,
                currency=currency,
                note=note[:255],
                created_by=_user(user),
            )
    except IntegrityError:
        existing = (
            PurchaseOrder.objects.select_related("supplier", "location")
            .filter(supplier=supplier, location=location, status=Status.DRAFT)
            .first()
        )
        if existing is None:
            raise
        raise DraftPurchaseOrderExists(existing) from None
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            order=order, variant_id=variant_id, quantity_ordered=quantity, unit_cost_amount=cost
        )
        for variant_id, quantity, cost in resolved
    )
    return order


@transaction.atomic
def purchase_order_line_set(
    *,
    order: PurchaseOrder,
    variant_id: int,
    quantity: int,
    unit_cost: Decimal | None = None,
) -> PurchaseOrderLine | None:
    """Set how many of a variant a draft orders (0 removes the line). Without
    ``unit_cost`` an existing line keeps its cost and a new one takes the supplier's."""
    order = _lock(order)
    if order.status != Status.DRAFT:
        raise PurchaseOrderTransitionRefused(order, "edit")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidQuantity(quantity)
    sku = _skus([variant_id])[variant_id]
    line = order.lines.filter(variant_id=variant_id).first()
    if quantity == 0:
        if line is not None:
            line.delete()
        return None
    if unit_cost is not None:
        cost = _unit_cost(unit_cost, order.currency)
    elif line is not None:
        cost = line.unit_cost_amount
    else:
        item = SupplierItem.objects.filter(supplier=order.supplier, variant_id=variant_id).first()
        if item is None:
            raise VariantNotSoldBySupplier(sku=sku, supplier=order.supplier)
        cost = item.unit_cost_amount
    if line is None:
        return PurchaseOrderLine.objects.create(
            order=order, variant_id=variant_id, quantity_ordered=quantity, unit_cost_amount=cost
        )
    line.quantity_ordered = quantity
    line.unit_cost_amount = cost
    line.save(update_fields=["quantity_ordered", "unit_cost_amount"])
    return line


@transaction.atomic
def purchase_order_note_set(*, order: PurchaseOrder, note: str) -> PurchaseOrder:
    """Change the buyer's note (any status: it changes nothing else)."""
    order = _lock(order)
    order.note = note[:255]
    order.save(update_fields=["note"])
    return order


# --------------------------------------------------------------------------- transitions


@transaction.atomic
def purchase_order_send(
    *, order: PurchaseOrder, user: AbstractBaseUser | None = None
) -> PurchaseOrder:
    """Draft → sent: the ordered units become ``incoming`` at the delivery location and
    are expected after the supplier's lead time."""
    order = _lock(order)
    _check_transition(order, Status.SENT, "send")
    if not order.supplier.is_active:
        raise SupplierInactive(order.supplier)
    lines = list(order.lines.all())
    if not lines:
        raise EmptyPurchaseOrder()
    order.status = Status.SENT
    order.sent_at = timezone.now()
    order.expected_on = timezone.localdate() + timedelta(days=order.supplier.lead_time_days)
    order.save(update_fields=["status", "sent_at", "expected_on"])
    stock_incoming_change(
        entries=[(line.variant_id, order.location_id, line.quantity_ordered) for line in lines]
    )
    _publish_incoming(order, [line.variant_id for line in lines])
    return order


@transaction.atomic
def purchase_order_receive(
    *,
    order: PurchaseOrder,
    quantities: Mapping[int, int],
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> PurchaseOrder:
    """Receive ``{variant_id: quantity}`` into the delivery location: ``on_hand`` rises
    through the ledger (reason RECEIPT, this order as source) and ``incoming`` falls by
    the same amounts. Receiving more than is outstanding, a variant not on the order, or
    a quantity below one is refused and changes nothing."""
    order = _lock(order)
    _check_transition(order, Status.RECEIVED, "receive")
    if not quantities:
        raise EmptyReceipt()
    return _receive(order=order, quantities=quantities, user=user, note=note)


@transaction.atomic
def purchase_order_receive_outstanding(
    *, order: PurchaseOrder, user: AbstractBaseUser | None = None, note: str = ""
) -> PurchaseOrder:
    """Receive every unit still expected (the delivery came complete)."""
    order = _lock(order)
    _check_transition(order, Status.RECEIVED, "receive")
    outstanding = {
        line.variant_id: line.quantity_ordered - line.quantity_received
        for line in order.lines.all()
        if line.quantity_ordered > line.quantity_received
    }
    return _receive(order=order, quantities=outstanding, user=user, note=note)


def _receive(
    *,
    order: PurchaseOrder,
    quantities: Mapping[int, int],
    user: AbstractBaseUser | None,
    note: str,
) -> PurchaseOrder:
    """The receipt itself; the caller holds the order's lock and checked the transition."""
    lines = {line.variant_id: line for line in order.lines.select_related("variant")}
    received: list[PurchaseOrderLine] = []
    for variant_id, quantity in quantities.items():
        line = None if isinstance(variant_id, bool) else lines.get(variant_id)
        if line is None:
            raise VariantNotOnOrder(order=order, sku=_sku_or_id(variant_id))
        quantity_check(quantity)
        outstanding = line.quantity_ordered - line.quantity_received
        if quantity > outstanding:
            raise PurchaseReceiptExceedsOutstanding(
                order=order, sku=line.variant.sku, outstanding=outstanding, requested=quantity
            )
        line.quantity_received += quantity
        received.append(line)
    complete = all(line.quantity_received == line.quantity_ordered for line in lines.values())
    target = Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED
    _check_transition(order, target, "receive")
    PurchaseOrderLine.objects.bulk_update(received, ["quantity_received"])
    entries = [
        (line.variant_id, order.location_id, quantities[line.variant_id]) for line in received
    ]
    stock_receive_many(
        entries=entries,
        user=user,
        reason=StockMovement.Reason.RECEIPT,
        source=order,
        note=note or str(order),
    )
    stock_incoming_change(entries=[(v, loc, -q) for v, loc, q in entries])
    order.status = target
    order.received_at = timezone.now() if complete else None
    order.save(update_fields=["status", "received_at"])
    return order


def _sku_or_id(variant_id: object) -> str:
    if isinstance(variant_id, int) and not isinstance(variant_id, bool):
        sku = Variant.objects.filter(pk=variant_id).values_list("sku", flat=True).first()
        if sku:
            return sku
    return str(variant_id)


@transaction.atomic
def purchase_order_cancel(
    *, order: PurchaseOrder, user: AbstractBaseUser | None = None
) -> PurchaseOrder:
    """Draft, or sent with nothing received yet → cancelled; a sent order gives back the
    ``incoming`` it added."""
    order = _lock(order)
    _check_transition(order, Status.CANCELLED, "cancel")
    was_sent = order.status == Status.SENT
    order.status = Status.CANCELLED
    order.save(update_fields=["status"])
    if was_sent:
        lines = [
            line for line in order.lines.all() if line.quantity_ordered > line.quantity_received
        ]
        stock_incoming_change(
            entries=[
                (
                    line.variant_id,
                    order.location_id,
                    -(line.quantity_ordered - line.quantity_received),
                )
                for line in lines
            ]
        )
        _publish_incoming(order, [line.variant_id for line in lines])
    return order
