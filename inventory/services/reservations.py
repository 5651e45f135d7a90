"""Reservations: units promised to a cart or an order, held at one location.

Lock order, for every writer: the stock level row, then its reservations. A reservation
row is inserted before the level is touched, so the hot row is locked only for one
conditional UPDATE and the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from inventory import locks
from inventory.events import STOCK_CHANGED
from inventory.exceptions import InvalidExpiry, ReservationNotActive
from inventory.models import Reservation, StockMovement
from inventory.services.stock import ledger_write, quantity_check, stock_insufficient
from unicommerce.channels.models import SalesChannel
from unicommerce.events.services import (
    event_insert_sql,
    event_publish,
    event_relay_after_commit,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db import models

Status = Reservation.Status


def _publish(variant_ids, location_ids, reason: str) -> None:
    event_publish(
        topic=STOCK_CHANGED,
        payload={
            "variant_ids": sorted(set(variant_ids)),
            "location_ids": sorted(set(location_ids)),
            "reason": reason,
        },
    )


class _TooFew(Exception):
    """Internal: the single reservation statement found too few units (wrote nothing)."""


def _reserve_once(*, columns: dict, keep_safety: bool) -> Reservation:
    event = event_insert_sql(
        topic=STOCK_CHANGED,
        payload={
            "variant_ids": [columns["variant_id"]],
            "location_ids": [columns["location_id"]],
            "reason": "reservation",
        },
    )
    inserted = locks.reservation_insert_and_reserve(
        variant_id=columns["variant_id"],
        location_id=columns["location_id"],
        quantity=columns["quantity"],
        keep_safety=keep_safety,
        columns=columns,
        event=event,
    )
    if inserted is None:
        raise _TooFew
    event_relay_after_commit(event.event_id)
    reservation = Reservation(**columns)
    reservation.pk, reservation.created_at = inserted
    return reservation


def stock_reserve(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    expires_at: datetime | None = None,
    channel: SalesChannel | None = None,
    reference: str = "",
    user: AbstractBaseUser | None = None,
    keep_safety: bool = True,
) -> Reservation:
    """Hold ``quantity`` units at a location until ``expires_at`` (or until released).

    Exactly the available quantity can be reserved, whatever the concurrency. This is
    the hottest write of the platform (every web cart), so the reservation, its event and
    the conditional UPDATE of the stock row travel in one statement. Units held by
    reservations past their time are released on the spot when they are needed.
    """
    quantity_check(quantity)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidExpiry()
    columns = {
        "variant_id": variant_id,
        "location_id": location_id,
        "channel_id": channel.pk if channel is not None else None,
        "quantity": quantity,
        "status": Status.ACTIVE,
        "expires_at": expires_at,
        "reference": reference[:100],
        "created_by_id": user.pk if user is not None and user.is_authenticated else None,
        "ended_at": None,
    }
    try:
        return _reserve_once(columns=columns, keep_safety=keep_safety)
    except _TooFew:
        pass
    with transaction.atomic():
        freed = locks.reservations_expire_due(variant_id=variant_id, location_id=location_id)
        if freed:
            _publish([variant_id], [location_id], "reservation_expired")
    if freed:
        try:
            return _reserve_once(columns=columns, keep_safety=keep_safety)
        except _TooFew:
            pass
    raise stock_insufficient(variant_id, location_id, quantity, keep_safety=keep_safety)


def _end(reservation: Reservation, status: str, *, still_valid: bool) -> None:
    """Mark an active reservation ended, or raise (the caller's transaction rolls back)."""
    active = Reservation.objects.filter(pk=reservation.pk, status=Status.ACTIVE)
    if still_valid:
        active = active.exclude(expires_at__lte=timezone.now())
    if not active.update(status=status, ended_at=timezone.now()):
        current = Reservation.objects.get(pk=reservation.pk)
        shown = current.status
        if current.status == Status.ACTIVE:
            shown = Status.EXPIRED  # past its time, not yet tidied up by the task
        raise ReservationNotActive(reservation.pk, shown)
    reservation.refresh_from_db()


@transaction.atomic
def reservation_release(
    *, reservation: Reservation, user: AbstractBaseUser | None = None
) -> Reservation:
    """Give the units back (a cart emptied, an order cancelled)."""
    freed = locks.stock_level_unreserve(
        variant_id=reservation.variant_id,
        location_id=reservation.location_id,
        quantity=reservation.quantity,
        take=False,
    )
    if freed is None:
        raise ReservationNotActive(reservation.pk, reservation.status)
    _end(reservation, Status.RELEASED, still_valid=False)
    _publish([reservation.variant_id], [reservation.location_id], "reservation_released")
    return reservation


@transaction.atomic
def reservation_convert(
    *,
    reservation: Reservation,
    user: AbstractBaseUser | None = None,
    source: models.Model | None = None,
) -> StockMovement:
    """The reserved units are sold: they leave on_hand and the reservation in one
    statement, so no other buyer can take them in between."""
    on_hand = locks.stock_level_unreserve(
        variant_id=reservation.variant_id,
        location_id=reservation.location_id,
        quantity=reservation.quantity,
        take=True,
    )
    if on_hand is None:
        raise ReservationNotActive(reservation.pk, reservation.status)
    _end(reservation, Status.CONVERTED, still_valid=True)
    change = locks.LevelChange(
        reservation.variant_id, reservation.location_id, -reservation.quantity, on_hand
    )
    return ledger_write(
        [change],
        reason=StockMovement.Reason.SALE,
        user=user,
        source=source or reservation,
        note=reservation.reference,
    )[0]


def reservations_expire(*, limit: int = 5000) -> int:
    """Release every reservation past its time (the periodic task). Returns how many
    stock levels had units freed."""
    due = (
        Reservation.objects.filter(status=Status.ACTIVE, expires_at__lte=timezone.now())
        .order_by("variant_id", "location_id")
        .values_list("variant_id", "location_id")[:limit]
    )
    levels = sorted(set(due))
    if not levels:
        return 0
    released = 0
    for variant_id, location_id in levels:
        with transaction.atomic():  # one short transaction per level: never a long lock
            if locks.reservations_expire_due(variant_id=variant_id, location_id=location_id):
                released += 1
                _publish([variant_id], [location_id], "reservation_expired")
    return released
