"""Loyalty points: earn, redeem, reverse, adjust, expire (docs/loyalty.md, "Points").

The balance is never stored: it is the sum of the customer's ``PointsEntry`` rows in a
programme. The rules (points per currency unit, a point's value, the minimum per
redemption, validity, channels) are the programme row's fields, edited in the admin:
nothing here hard-codes a rate. Every writer takes the customer's row lock
(``customers.locks.customer_lock``) before it reads the balance, so movements of one
customer run one after the other and the balance never goes below zero. Lock order for
callers holding other locks: the order first, then the customer.

An ``idempotency_key`` makes a movement safe to send again: the same key answers the row
it wrote (a key used for another customer or kind is refused). A movement that ends at
zero points writes nothing (a row of zero points is refused by the database) and answers
``None``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from customers.locks import customer_lock, customers_lock
from customers.models import Customer
from loyalty.exceptions import (
    PointsBelowMinimum,
    PointsInsufficient,
    PointsInvalid,
    PointsKeyReused,
    PointsProgrammeInactive,
    PointsReasonRequired,
    PointsReferenceRequired,
)
from loyalty.models import PointsEntry, PointsProgramme
from unicommerce.actors import acting_user
from unicommerce.money import money_round

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AbstractBaseUser

    from customers.services.gdpr import ErasedIdentity

Kind = PointsEntry.Kind


# --- the programme and reads ----------------------------------------------------------


def points_programme_active(currency: str) -> PointsProgramme | None:
    """The programme customers earn and spend points in for ``currency`` (at most one
    is active per currency, a database constraint), or ``None``."""
    return (
        PointsProgramme.objects.filter(currency=currency.upper(), is_active=True)
        .prefetch_related("channels")
        .first()
    )


def _programme_or_default(programme: PointsProgramme | None) -> PointsProgramme:
    if programme is not None:
        return programme
    active = points_programme_active(settings.DEFAULT_CURRENCY)
    if active is None:
        raise PointsProgrammeInactive(currency=settings.DEFAULT_CURRENCY)
    return active


def points_balance(*, customer: Customer, programme: PointsProgramme) -> int:
    """The customer's points in ``programme``: the sum of their ledger rows."""
    total = PointsEntry.objects.filter(
        customer_id=customer.pk, programme_id=programme.pk
    ).aggregate(total=Sum("points"))["total"]
    return int(total or 0)


def points_value(points: int, programme: PointsProgramme) -> Decimal:
    """What ``points`` pay for, in the programme's currency (rounded to the cent)."""
    return money_round(Decimal(points) * programme.point_value, programme.currency)


def points_needed(amount: Decimal, programme: PointsProgramme) -> int:
    """The points that pay ``amount``: rounded up, so what they pay is never less."""
    return int((amount / programme.point_value).to_integral_value(rounding=ROUND_CEILING))


def points_earnable(amount: Decimal, programme: PointsProgramme) -> int:
    """The points ``amount`` earns: rounded down (no point for a fraction)."""
    return int((amount * programme.points_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def _earns_on(programme: PointsProgramme, channel_id: int | None) -> bool:
    channel_ids = {channel.pk for channel in programme.channels.all()}
    return not channel_ids or channel_id in channel_ids


# --- checks -----------------------------------------------------------------------------


def _points_check(points: object, *, signed: bool = False) -> int:
    """A whole number of points (> 0, or ≠ 0 when ``signed``)."""
    if isinstance(points, bool) or not isinstance(points, int | Decimal | str):
        raise PointsInvalid(points=points)
    try:
        value = Decimal(str(points))
    except InvalidOperation:
        raise PointsInvalid(points=points) from None
    if not value.is_finite() or value != value.to_integral_value():
        raise PointsInvalid(points=points)
    if value == 0 or (value < 0 and not signed):
        raise PointsInvalid(points=points)
    return int(value)


def _amount_check(amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str):
        raise PointsInvalid(points=amount, field="amount")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise PointsInvalid(points=amount, field="amount") from None
    if not value.is_finite() or value < 0:
        raise PointsInvalid(points=amount, field="amount")
    return value


def _replayed(key: str | None, *, customer_id: int, kind: str) -> PointsEntry | None:
    if not key:
        return None
    entry = PointsEntry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if (entry.customer_id, entry.kind) != (customer_id, kind):
        raise PointsKeyReused(key=key)
    return entry


def _entry_create(
    *,
    customer_id: int,
    programme: PointsProgramme,
    kind: str,
    points: int,
    reference: str = "",
    reason: str = "",
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
    user: AbstractBaseUser | None = None,
) -> PointsEntry:
    return PointsEntry.objects.create(
        customer_id=customer_id,
        programme=programme,
        kind=kind,
        points=points,
        reference=reference[:100],
        reason=reason[:255],
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        created_by=acting_user(user),
    )


# --- movements --------------------------------------------------------------------------


@transaction.atomic
def points_earn(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    channel_id: int | None = None,
    reference: str = "",
    idempotency_key: str | None = None,
) -> PointsEntry | None:
    """Earn points on ``amount`` (merchandise paid, net of discounts) under the active
    programme of ``currency``: floor(amount × points per unit), valid for the
    programme's days. Nothing (``None``) without an active programme, on a channel the
    programme does not list, or for less than one point. The same key answers the same
    row."""
    amount = _amount_check(amount)
    locked = customer_lock(customer.pk)
    entry = _replayed(idempotency_key, customer_id=locked.pk, kind=Kind.EARN)
    if entry is not None:
        return entry
    programme = points_programme_active(currency)
    if programme is None or not _earns_on(programme, channel_id):
        return None
    points = points_earnable(amount, programme)
    if points <= 0:
        return None
    expires_at = None
    if programme.expiry_days:
        expires_at = timezone.now() + timedelta(days=programme.expiry_days)
    return _entry_create(
        customer_id=locked.pk,
        programme=programme,
        kind=Kind.EARN,
        points=points,
        reference=reference,
        expires_at=expires_at,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def points_redeem(
    *,
    customer: Customer,
    points: int,
    reference: str = "",
    idempotency_key: str | None = None,
    programme: PointsProgramme | None = None,
    user: AbstractBaseUser | None = None,
) -> PointsEntry:
    """Spend ``points`` (> 0) of the customer's (a tender or a reward) in ``programme``
    (default: the active one of the default currency). Refuses fewer than the
    programme's minimum (``points_below_minimum``) and more than held
    (``points_insufficient``), writing nothing then. The same key answers the same
    row."""
    points = _points_check(points)
    programme = _programme_or_default(programme)
    locked = customer_lock(customer.pk)  # every movement of this customer waits here
    entry = _replayed(idempotency_key, customer_id=locked.pk, kind=Kind.REDEEM)
    if entry is not None:
        return entry
    if points < programme.min_redeem_points:
        raise PointsBelowMinimum(points=points, minimum=programme.min_redeem_points)
    balance = points_balance(customer=locked, programme=programme)
    if points > balance:
        raise PointsInsufficient(points=points, balance=balance)
    return _entry_create(
        customer_id=locked.pk,
        programme=programme,
        kind=Kind.REDEEM,
        points=-points,
        reference=reference,
        idempotency_key=idempotency_key,
        user=user,
    )


def _customer_ids_of(customer_id: int) -> list[int]:
    """The customer and those merged into them: a reference's rows stay on the customer
    who earned them (the ledger is append-only), the order follows the survivor."""
    merged = Customer.objects.filter(merged_into_id=customer_id).values_list("pk", flat=True)
    return [customer_id, *merged]


def _reference_totals(customer_id: int, reference: str) -> tuple[dict[str, int], int | None]:
    """What ``reference`` moved for the customer, by direction, and its programme."""
    rows = PointsEntry.objects.filter(
        customer_id__in=_customer_ids_of(customer_id), reference=reference[:100]
    )
    totals = rows.aggregate(
        earned=Sum("points", filter=Q(kind=Kind.EARN)),
        taken_back=Sum("points", filter=Q(kind=Kind.REVERSE, points__lt=0)),
        redeemed=Sum("points", filter=Q(kind=Kind.REDEEM)),
        given_back=Sum("points", filter=Q(kind=Kind.REVERSE, points__gt=0)),
    )
    programme_id = rows.order_by("-id").values_list("programme_id", flat=True).first()
    return {name: abs(int(value or 0)) for name, value in totals.items()}, programme_id


def points_reversible(*, customer: Customer, reference: str) -> dict[str, int]:
    """What a reversal of ``reference`` may still move: ``take_back`` (earned, not yet
    taken back) and ``give_back`` (redeemed, not yet given back)."""
    totals, _ = _reference_totals(customer.pk, reference)
    return {
        "take_back": totals["earned"] - totals["taken_back"],
        "give_back": totals["redeemed"] - totals["given_back"],
    }


@transaction.atomic
def points_reverse(
    *,
    customer: Customer,
    points: int,
    reference: str,
    idempotency_key: str | None = None,
    user: AbstractBaseUser | None = None,
) -> PointsEntry | None:
    """Reverse a movement of ``reference`` (signed): ``points`` < 0 takes back points
    it earned (a return, a cancellation), ``points`` > 0 gives back points redeemed on
    it (a refund). Never more than what the reference earned (or redeemed) and has not
    had reversed; a take-back never leaves the balance negative: it takes at most the
    balance and says in the row's reason what was asked. ``None`` when nothing is left
    to move. The same key answers the same row."""
    points = _points_check(points, signed=True)
    if not reference:
        raise PointsReferenceRequired()
    locked = customer_lock(customer.pk)
    entry = _replayed(idempotency_key, customer_id=locked.pk, kind=Kind.REVERSE)
    if entry is not None:
        return entry
    totals, programme_id = _reference_totals(locked.pk, reference)
    if programme_id is None:
        return None
    programme = PointsProgramme.objects.get(pk=programme_id)
    if points < 0:
        balance = points_balance(customer=locked, programme=programme)
        moved = -min(-points, totals["earned"] - totals["taken_back"], balance)
    else:
        moved = min(points, totals["redeemed"] - totals["given_back"])
    if moved == 0 or (moved < 0) != (points < 0):
        return None
    reason = "" if moved == points else f"asked {points:+}, reversed {moved:+}"
    return _entry_create(
        customer_id=locked.pk,
        programme=programme,
        kind=Kind.REVERSE,
        points=moved,
        reference=reference,
        reason=reason,
        idempotency_key=idempotency_key,
        user=user,
    )


@transaction.atomic
def points_adjust(
    *,
    customer: Customer,
    points: int,
    reason: str,
    user: AbstractBaseUser | None,
    programme: PointsProgramme | None = None,
    reference: str = "",
    idempotency_key: str | None = None,
) -> PointsEntry:
    """A correction by the back office (± ``points``, with a reason), in ``programme``
    (default: the active one of the default currency). A negative adjustment never
    takes more than held (``points_insufficient``). The same key answers the same row."""
    points = _points_check(points, signed=True)
    reason = (reason or "").strip()
    if not reason:
        raise PointsReasonRequired()
    programme = _programme_or_default(programme)
    locked = customer_lock(customer.pk)
    entry = _replayed(idempotency_key, customer_id=locked.pk, kind=Kind.ADJUST)
    if entry is not None:
        return entry
    if points < 0:
        balance = points_balance(customer=locked, programme=programme)
        if -points > balance:
            raise PointsInsufficient(points=-points, balance=balance)
    return _entry_create(
        customer_id=locked.pk,
        programme=programme,
        kind=Kind.ADJUST,
        points=points,
        reference=reference,
        reason=reason,
        idempotency_key=idempotency_key,
        user=user,
    )


# --- expiry -----------------------------------------------------------------------------


def _consume_by_reference(rows: list[PointsEntry], lots: list[list]) -> int:
    """Apply each take-back of a reference to that reference's earnings first; what is
    left of the take-backs, and every other debit, is returned for the common pool."""
    by_reference: dict[str, list[list]] = defaultdict(list)
    for lot in lots:
        if lot[0].kind == Kind.EARN and lot[0].reference:
            by_reference[lot[0].reference].append(lot)
    pool = 0
    for row in rows:
        if row.points >= 0:
            continue
        owed = -row.points
        if row.kind == Kind.REVERSE and row.reference:
            for lot in by_reference.get(row.reference, ()):
                taken = min(lot[1], owed)
                lot[1] -= taken
                owed -= taken
        pool += owed
    return pool


def points_expired_due(rows: Iterable[PointsEntry], now: datetime) -> int:
    """The points of one customer's ledger (one programme) that expire at ``now``: what
    is left of the earnings past their validity once every debit (redemptions, earlier
    expiries, take-backs, negative adjustments) has consumed the oldest-expiring
    credits first (a take-back consumes its own reference's earnings first). Credits
    without a validity (adjustments, given-back redemptions, merges) are used last."""
    rows = sorted(rows, key=lambda row: (row.created_at, row.pk))
    lots = [[row, row.points] for row in rows if row.points > 0]
    pool = _consume_by_reference(rows, lots)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    lots.sort(key=lambda lot: (lot[0].expires_at or far, lot[0].created_at, lot[0].pk))
    for lot in lots:
        taken = min(lot[1], pool)
        lot[1] -= taken
        pool -= taken
    return sum(
        remaining for row, remaining in lots if row.expires_at is not None and row.expires_at <= now
    )


@transaction.atomic
def _customer_points_expire(customer_id: int, programme_id: int, now: datetime) -> int:
    locked = customer_lock(customer_id)
    rows = list(PointsEntry.objects.filter(customer_id=locked.pk, programme_id=programme_id))
    if not rows:
        return 0
    programme = PointsProgramme.objects.get(pk=programme_id)
    due = min(points_expired_due(rows, now), sum(row.points for row in rows))
    if due <= 0:
        return 0
    last = max(row.pk for row in rows)
    _entry_create(
        customer_id=locked.pk,
        programme=programme,
        kind=Kind.EXPIRE,
        points=-due,
        reason=f"expired on {now.date().isoformat()}",
        # One expiry per state of the ledger: a second run at once finds it written.
        idempotency_key=f"points-expire:{programme_id}:{locked.pk}:{last}",
    )
    return due


def points_expire(now: datetime | None = None) -> int:
    """Expire every customer's points past their validity (beat, nightly:
    ``loyalty.points_expire``), one customer per short transaction, oldest first (see
    ``points_expired_due``). Idempotent: a second run finds nothing more to expire.
    Returns the points expired."""
    now = now or timezone.now()
    expired = PointsEntry.objects.filter(kind=Kind.EARN, expires_at__lte=now)
    # Only customers with an earning past validity and points left: the others have
    # nothing to expire (a zero balance stays zero).
    pairs = (
        PointsEntry.objects.filter(customer_id__in=expired.values("customer_id"))
        .values("customer_id", "programme_id")
        .annotate(total=Sum("points"))
        .filter(total__gt=0)
        .order_by("customer_id", "programme_id")
        .values_list("customer_id", "programme_id")
    )
    return sum(
        _customer_points_expire(customer_id, programme_id, now)
        for customer_id, programme_id in list(pairs)
    )


# --- customers merged or erased ---------------------------------------------------------


@transaction.atomic
def points_customer_reassign(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> list[PointsEntry]:
    """Points' part of a merge (``crm.services.merging.customer_merge``): the ledger is
    append-only, so the duplicate's rows stay with it and its balance moves to the
    survivor, programme by programme, as two ``merge`` rows written together (a debit on
    the duplicate, the same credit on the survivor). The moved points no longer expire
    (their validity was the duplicate's earnings'). Idempotent: run again, nothing is
    left to move. Returns the new rows."""
    customers_lock([survivor.pk, duplicate.pk])
    balances = (
        PointsEntry.objects.filter(customer_id=duplicate.pk)
        .values("programme_id")
        .annotate(total=Sum("points"))
        .order_by("programme_id")
    )
    written: list[PointsEntry] = []
    for row in balances:
        programme_id, total = row["programme_id"], int(row["total"] or 0)
        key = f"points-merge:{duplicate.pk}:{survivor.pk}:{programme_id}"
        if total <= 0 or PointsEntry.objects.filter(idempotency_key=f"{key}:out").exists():
            continue
        entry = partial(
            PointsEntry, programme_id=programme_id, kind=Kind.MERGE, created_by=acting_user(user)
        )
        written += PointsEntry.objects.bulk_create(
            [
                entry(
                    customer_id=duplicate.pk,
                    points=-total,
                    reference=f"moved to customer #{survivor.pk}",
                    idempotency_key=f"{key}:out",
                ),
                entry(
                    customer_id=survivor.pk,
                    points=total,
                    reference=f"moved from customer #{duplicate.pk}",
                    idempotency_key=f"{key}:in",
                ),
            ]
        )
    return written


def points_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> None:
    """Points' part of an erasure (``crm.services.erasure.customer_erase``): nothing to
    blank. The ledger holds numbers of points, kinds, order references and the back
    office's reasons, never a name, an address or a number; it stays on the erased
    customer's row (their balance is worth nothing to anyone once they are erased)."""


__all__ = [
    "points_adjust",
    "points_balance",
    "points_customer_erase",
    "points_customer_reassign",
    "points_earn",
    "points_earnable",
    "points_expire",
    "points_expired_due",
    "points_needed",
    "points_programme_active",
    "points_redeem",
    "points_reverse",
    "points_reversible",
    "points_value",
]
