"""Transfers: stock moving from one location to another through "in transit".

draft → shipped (units leave the origin and wait in the in-transit location; the
destination's ``incoming`` grows) → partially received → received (units leave transit
and enter the destination; ``incoming`` shrinks). A transfer whose missing units will
never arrive is closed: the difference is recorded on each line and written off from
transit. Each transition locks the transfer row first, then lets the stock primitives
lock the stock levels (in variant order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Variant
from inventory.events import STOCK_CHANGED
from inventory.exceptions import (
    InvalidQuantity,
    ReceiptEmpty,
    TransferEmpty,
    TransferLocationUnusable,
    TransferNotFound,
    TransferReceiptExceedsOutstanding,
    TransferSameLocation,
    TransitLocationUnusable,
    VariantNotOnTransfer,
    VariantUnknown,
)
from inventory.models import Location, StockMovement, Transfer, TransferLine
from inventory.services.stock import (
    stock_adjust,
    stock_incoming_change,
    stock_receive_many,
    stock_take,
)
from unicommerce.events.services import event_publish
from unicommerce.exceptions import InvalidTransition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Transfer.Status
Reason = StockMovement.Reason

TRANSIT_CODE = "transit"

# The one transition table: from each status, the statuses a transfer may move to.
# Draft → draft is editing the lines; partially received → partially received is one
# more partial receipt.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.DRAFT, Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CLOSED}),
    Status.PARTIALLY_RECEIVED: frozenset(
        {Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CLOSED}
    ),
    Status.RECEIVED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# What each operation may lead to (receiving ends partially or fully received).
ACTIONS: dict[str, tuple[str, ...]] = {
    "edit": (Status.DRAFT,),
    "ship": (Status.SHIPPED,),
    "receive": (Status.PARTIALLY_RECEIVED, Status.RECEIVED),
    "close": (Status.CLOSED,),
    "cancel": (Status.CANCELLED,),
}

ACTION_LABELS = {
    "edit": gettext_lazy("edited"),
    "ship": gettext_lazy("shipped"),
    "receive": gettext_lazy("received"),
    "close": gettext_lazy("closed"),
    "cancel": gettext_lazy("cancelled"),
}


# --------------------------------------------------------------------------- errors


class TransferInvalidTransition(InvalidTransition):
    def __init__(self, transfer: Transfer, action: str) -> None:
        allowed = [
            status
            for status, targets in TRANSITIONS.items()
            if any(target in targets for target in ACTIONS[action])
        ]
        super().__init__(
            _("%(reference)s is %(status)s: it can be %(action)s only when %(allowed)s.")
            % {
                "reference": str(transfer),
                "status": Status(transfer.status).label,
                "action": ACTION_LABELS[action],
                "allowed": _(" or ").join(str(Status(s).label) for s in allowed),
            },
            transfer=str(transfer),
            status=transfer.status,
            action=action,
            allowed=allowed,
        )


# --------------------------------------------------------------------------- helpers


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _lock(transfer: Transfer | int, action: str) -> Transfer:
    """Lock the transfer row (inside the caller's atomic block) and check the table."""
    pk = transfer.pk if isinstance(transfer, Transfer) else transfer
    locked = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("from_location", "to_location")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise TransferNotFound(pk)
    if not transfer_can(locked, action):
        raise TransferInvalidTransition(locked, action)
    return locked


def _move_to(transfer: Transfer, status: str, action: str, **fields) -> None:
    if status not in TRANSITIONS[transfer.status]:  # the table is the only authority
        raise TransferInvalidTransition(transfer, action)
    transfer.status = status
    for name, value in fields.items():
        setattr(transfer, name, value)
    transfer.save(update_fields=["status", *fields])


def _positive(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(quantity)
    return quantity


def _check_variants(variant_ids: Iterable[int]) -> None:
    wanted = set(variant_ids)
    found = set(Variant.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - found:
        raise VariantUnknown(wanted - found)


def _check_locations(from_location: Location, to_location: Location) -> None:
    if from_location.pk == to_location.pk:
        raise TransferSameLocation(from_location)
    for field, location in (("from_location", from_location), ("to_location", to_location)):
        if not location.is_active or location.kind == Location.Kind.TRANSIT:
            raise TransferLocationUnusable(location, field)


def _outstanding(lines: Iterable[TransferLine]) -> dict[int, int]:
    return {
        line.variant_id: line.quantity - line.quantity_received
        for line in lines
        if line.quantity > line.quantity_received
    }


def _by_location(steps: list[tuple[int, Callable[[], object]]]) -> None:
    """Run the stock steps of one operation location by location, in location id order.

    Each primitive locks its levels in variant order, but an operation calls several
    (origin, transit, destination): without one order across them, a transfer A → B and
    one B → A shipped at the same time would lock the same levels in opposite orders and
    deadlock. Every multi-location operation here takes its locations in id order.
    """
    for _location_id, step in sorted(steps, key=lambda s: s[0]):  # stable: variant order kept
        step()


def _expect(transfer: Transfer, entries: list[tuple[int, int]]) -> None:
    """Signed changes of what the destination expects: (variant_id, delta) entries.
    Not a ledger, so the event that tells replenishment to re-read is published here."""
    location_id = transfer.to_location_id
    stock_incoming_change(entries=[(v, location_id, delta) for v, delta in entries])
    event_publish(
        topic=STOCK_CHANGED,
        payload={
            "variant_ids": sorted({v for v, _delta in entries}),
            "location_ids": [location_id],
            "reason": "incoming",
        },
    )


def _arrive(transfer: Transfer, receipt: dict[int, int], user) -> None:
    """The received units enter the destination, which stops expecting them (its
    TRANSFER_IN rows already announce the change of these levels)."""
    stock_receive_many(
        entries=[(v, transfer.to_location_id, q) for v, q in sorted(receipt.items())],
        reason=Reason.TRANSFER_IN,
        user=user,
        source=transfer,
    )
    stock_incoming_change(
        entries=[(v, transfer.to_location_id, -q) for v, q in sorted(receipt.items())]
    )


def transfer_can(transfer: Transfer, action: str) -> bool:
    """Whether ``action`` (edit, ship, receive, close, cancel) is allowed now."""
    return any(target in TRANSITIONS[transfer.status] for target in ACTIONS[action])


def transit_location() -> Location:
    """The in-transit location every transfer travels through, created when missing."""
    location, _created = Location.objects.get_or_create(
        code=TRANSIT_CODE, defaults={"name": "In transit", "kind": Location.Kind.TRANSIT}
    )
    if location.kind != Location.Kind.TRANSIT or not location.is_active:
        raise TransitLocationUnusable(location)
    return location


# --------------------------------------------------------------------------- operations


@transaction.atomic
def transfer_create(
    *,
    from_location: Location,
    to_location: Location,
    lines: list[tuple[int, int]],
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> Transfer:
    """A draft transfer of (variant_id, quantity) lines; a variant listed twice gets one
    line with the sum. Nothing moves until it is shipped."""
    _check_locations(from_location, to_location)
    merged: dict[int, int] = {}
    for variant_id, quantity in lines:
        merged[variant_id] = merged.get(variant_id, 0) + _positive(quantity)
    if not merged:
        raise TransferEmpty()
    _check_variants(merged)
    transfer = Transfer.objects.create(
        from_location=from_location,
        to_location=to_location,
        note=note[:255],
        created_by=_user(user),
    )
    TransferLine.objects.bulk_create(
        TransferLine(transfer=transfer, variant_id=variant_id, quantity=quantity)
        for variant_id, quantity in sorted(merged.items())
    )
    return transfer


@transaction.atomic
def transfer_line_set(
    *,
    transfer: Transfer,
    variant_id: int,
    quantity: int,
    user: AbstractBaseUser | None = None,
) -> TransferLine | None:
    """Set how many units of a variant a draft transfer carries; 0 removes the line."""
    transfer = _lock(transfer, "edit")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidQuantity(quantity)
    if quantity == 0:
        TransferLine.objects.filter(transfer=transfer, variant_id=variant_id).delete()
        return None
    _check_variants([variant_id])
    line, _created = TransferLine.objects.update_or_create(
        transfer=transfer, variant_id=variant_id, defaults={"quantity": quantity}
    )
    return line


@transaction.atomic
def transfer_ship(*, transfer: Transfer, user: AbstractBaseUser | None = None) -> Transfer:
    """The units leave the origin (never units promised to reservations; all lines or
    none) and wait in transit; the destination expects them."""
    transfer = _lock(transfer, "ship")
    _check_locations(transfer.from_location, transfer.to_location)
    lines = [(line.variant_id, line.quantity) for line in transfer.lines.all()]
    if not lines:
        raise TransferEmpty()
    transit = transit_location()
    _by_location(
        [
            (
                transfer.from_location_id,
                partial(
                    stock_take,
                    location_id=transfer.from_location_id,
                    lines=lines,
                    reason=Reason.TRANSFER_OUT,
                    user=user,
                    source=transfer,
                    keep_safety=False,
                ),
            ),
            (
                transit.pk,
                partial(
                    stock_receive_many,
                    entries=[(variant_id, transit.pk, quantity) for variant_id, quantity in lines],
                    reason=Reason.TRANSFER_IN,
                    user=user,
                    source=transfer,
                ),
            ),
            (transfer.to_location_id, partial(_expect, transfer, lines)),
        ]
    )
    _move_to(transfer, Status.SHIPPED, "ship", shipped_at=timezone.now())
    return transfer


@transaction.atomic
def transfer_receive(
    *,
    transfer: Transfer,
    quantities: dict[int, int],
    user: AbstractBaseUser | None = None,
) -> Transfer:
    """Receive some or all of the outstanding units ({variant_id: quantity}); several
    partial receipts are allowed. More than outstanding, or a variant the transfer does
    not carry, is refused and nothing changes."""
    transfer = _lock(transfer, "receive")
    lines = {line.variant_id: line for line in transfer.lines.select_related("variant")}
    foreign = set(quantities) - set(lines)
    if foreign:
        variants = list(Variant.objects.filter(pk__in=foreign))
        if len(variants) != len(foreign):
            raise VariantUnknown(foreign - {v.pk for v in variants})
        raise VariantNotOnTransfer(transfer, variants)
    receipt: dict[int, int] = {}
    for variant_id, quantity in sorted(quantities.items()):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InvalidQuantity(quantity)
        line = lines[variant_id]
        outstanding = line.quantity - line.quantity_received
        if quantity > outstanding:
            raise TransferReceiptExceedsOutstanding(
                sku=line.variant.sku, requested=quantity, outstanding=outstanding
            )
        if quantity:
            receipt[variant_id] = quantity
    if not receipt:
        raise ReceiptEmpty()
    transit = transit_location()
    _by_location(
        [
            (
                transit.pk,
                partial(
                    stock_take,
                    location_id=transit.pk,
                    lines=list(receipt.items()),
                    reason=Reason.TRANSFER_OUT,
                    user=user,
                    source=transfer,
                    keep_safety=False,
                ),
            ),
            (transfer.to_location_id, partial(_arrive, transfer, receipt, user)),
        ]
    )
    for variant_id, quantity in receipt.items():
        line = lines[variant_id]
        line.quantity_received += quantity
        line.save(update_fields=["quantity_received"])
    if _outstanding(lines.values()):
        _move_to(transfer, Status.PARTIALLY_RECEIVED, "receive")
    else:
        _move_to(transfer, Status.RECEIVED, "receive", received_at=timezone.now())
    return transfer


@transaction.atomic
def transfer_receive_all(*, transfer: Transfer, user: AbstractBaseUser | None = None) -> Transfer:
    """Receive every unit still outstanding."""
    locked = _lock(transfer, "receive")
    return transfer_receive(transfer=locked, quantities=_outstanding(locked.lines.all()), user=user)


@transaction.atomic
def transfer_close(
    *, transfer: Transfer, user: AbstractBaseUser | None = None, note: str = ""
) -> Transfer:
    """Stop waiting for the units that never arrived: each line records its
    discrepancy, the missing units are written off from transit, the destination stops
    expecting them."""
    transfer = _lock(transfer, "close")
    lines = list(transfer.lines.order_by("variant_id"))
    outstanding = _outstanding(lines)
    transit = transit_location()
    ledger_note = f"transfer {transfer} discrepancy"  # ledger data, not a UI string
    if note:
        ledger_note = f"{ledger_note}: {note}"
    write_offs = [
        (
            transit.pk,
            partial(
                stock_adjust,
                variant_id=variant_id,
                location_id=transit.pk,
                quantity=-missing,
                reason=Reason.ADJUSTMENT,
                user=user,
                source=transfer,
                note=ledger_note,
            ),
        )
        for variant_id, missing in sorted(outstanding.items())
    ]
    no_longer_expected = [(v, -missing) for v, missing in sorted(outstanding.items())]
    _by_location(
        [*write_offs, (transfer.to_location_id, partial(_expect, transfer, no_longer_expected))]
    )
    for line in lines:
        if line.variant_id in outstanding:
            line.discrepancy = outstanding[line.variant_id]
            line.save(update_fields=["discrepancy"])
    _move_to(transfer, Status.CLOSED, "close")
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, user: AbstractBaseUser | None = None) -> Transfer:
    """Drop a draft; nothing had moved."""
    transfer = _lock(transfer, "cancel")
    _move_to(transfer, Status.CANCELLED, "cancel")
    return transfer
