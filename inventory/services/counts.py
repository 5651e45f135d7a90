"""Stock counts, full or cycle: a snapshot of what the books say, what was found on the
shelves (one scan at a time), and the difference posted as ledger rows.

The variance of a line is ``counted - expected`` against the snapshot; posting applies it
to the *current* on-hand, so sales made while the count was running are not undone.
Every writer locks the count row first; the stock primitives then lock the levels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Variant
from catalog.selectors import variant_by_code
from inventory.exceptions import (
    CountKindInvalid,
    CountLocationInactive,
    CountNotFound,
    CountNothingCounted,
    CountQuantityInvalid,
    CountVariantsNotAllowed,
    CountVariantsRequired,
    VariantUnknown,
)
from inventory.models import Location, StockCount, StockCountLine, StockLevel, StockMovement
from inventory.services.stock import stock_adjust
from unicommerce.exceptions import InvalidTransition
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = StockCount.Status
Kind = StockCount.Kind

# The one transition table: open → open is recording a counted quantity.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.OPEN, Status.POSTED, Status.CANCELLED}),
    Status.POSTED: frozenset(),
    Status.CANCELLED: frozenset(),
}
ACTIONS: dict[str, str] = {
    "record": Status.OPEN,
    "post": Status.POSTED,
    "cancel": Status.CANCELLED,
}
ACTION_LABELS = {
    "record": gettext_lazy("counted"),
    "post": gettext_lazy("posted"),
    "cancel": gettext_lazy("cancelled"),
}


# --------------------------------------------------------------------------- errors


class CountInvalidTransition(InvalidTransition):
    def __init__(self, count: StockCount, action: str) -> None:
        super().__init__(
            _("%(reference)s is %(status)s: it can be %(action)s only while counting.")
            % {
                "reference": str(count),
                "status": Status(count.status).label,
                "action": ACTION_LABELS[action],
            },
            count=str(count),
            status=count.status,
            action=action,
        )


# --------------------------------------------------------------------------- helpers


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def count_can(count: StockCount, action: str) -> bool:
    """Whether ``action`` (record, post, cancel) is allowed now."""
    return ACTIONS[action] in TRANSITIONS[count.status]


def _lock(count: StockCount | int, action: str) -> StockCount:
    pk = count.pk if isinstance(count, StockCount) else count
    locked = (
        StockCount.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise CountNotFound(pk)
    if not count_can(locked, action):
        raise CountInvalidTransition(locked, action)
    return locked


def _on_hand(location_id: int, variant_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        StockLevel.objects.filter(
            location_id=location_id, variant_id__in=list(variant_ids)
        ).values_list("variant_id", "on_hand")
    )


def _accuracy(lines: Iterable[StockCountLine]) -> Decimal | None:
    counted = [line for line in lines if line.counted is not None]
    if not counted:
        return None
    matching = sum(1 for line in counted if line.counted == line.expected)
    return (Decimal(matching) * 100 / Decimal(len(counted))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


# --------------------------------------------------------------------------- operations


@transaction.atomic
def count_start(
    *,
    location: Location,
    kind: str,
    variant_ids: Iterable[int] | None = None,
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> StockCount:
    """Open a count and snapshot ``expected = on_hand`` now: every variant with a stock
    level at the location for a full count, the given variants for a cycle count."""
    if kind not in Kind.values:
        raise CountKindInvalid(kind)
    if not location.is_active:
        raise CountLocationInactive(location)
    variant_ids = sorted(set(variant_ids or ()))
    if kind == Kind.FULL:
        if variant_ids:
            raise CountVariantsNotAllowed()
        snapshot = dict(
            StockLevel.objects.filter(location=location)
            .order_by("variant_id")
            .values_list("variant_id", "on_hand")
        )
    else:
        if not variant_ids:
            raise CountVariantsRequired()
        found = set(Variant.objects.filter(pk__in=variant_ids).values_list("pk", flat=True))
        if set(variant_ids) - found:
            raise VariantUnknown(set(variant_ids) - found)
        on_hand = _on_hand(location.pk, variant_ids)
        snapshot = {variant_id: on_hand.get(variant_id, 0) for variant_id in variant_ids}
    count = StockCount.objects.create(
        location=location, kind=kind, note=note[:255], created_by=_user(user)
    )
    StockCountLine.objects.bulk_create(
        StockCountLine(count=count, variant_id=variant_id, expected=expected)
        for variant_id, expected in sorted(snapshot.items())
    )
    return count


@transaction.atomic
def count_record(
    *,
    count: StockCount,
    code: str,
    quantity: int | None = None,
    user: AbstractBaseUser | None = None,
) -> StockCountLine:
    """What a scanner sends: a barcode or SKU. Without a quantity each scan adds one;
    with one it sets the counted value. A product outside the snapshot gets a line
    expecting its current on-hand."""
    count = _lock(count, "record")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
    ):
        raise CountQuantityInvalid(quantity)
    variant = variant_by_code(code=code)
    line = StockCountLine.objects.filter(count=count, variant=variant).first()
    if line is None:
        expected = _on_hand(count.location_id, [variant.pk]).get(variant.pk, 0)
        line = StockCountLine(count=count, variant=variant, expected=expected)
    line.counted = (line.counted or 0) + 1 if quantity is None else quantity
    line.save()
    return line


@dataclass(frozen=True)
class VarianceRow:
    variant: Variant
    sku: str
    expected: int
    counted: int | None
    variance: int | None
    value: Decimal | None
    currency: str


def count_variance(*, count: StockCount) -> list[VarianceRow]:
    """The variance report: one row per line, by SKU. ``variance`` is what posting
    writes (a line never counted is 0 in a full count, left alone in a cycle count);
    ``value`` is the variance at the variant's price."""
    full = count.kind == Kind.FULL
    rows = []
    lines = count.lines.select_related("variant__product").order_by("variant__sku")
    for line in lines:
        counted = line.counted
        if counted is None and full and count.status == Status.OPEN:
            variance = -line.expected
        else:
            variance = line.variance
        value = None
        if variance is not None:
            value = money_round(variance * line.variant.price_amount, line.variant.currency)
        rows.append(
            VarianceRow(
                variant=line.variant,
                sku=line.variant.sku,
                expected=line.expected,
                counted=counted,
                variance=variance,
                value=value,
                currency=line.variant.currency,
            )
        )
    return rows


@transaction.atomic
def count_post(*, count: StockCount, user: AbstractBaseUser | None = None) -> StockCount:
    """Write each non-zero variance as one COUNT ledger row on the current on-hand, once.

    A correction that would take units promised to reservations refuses the whole post
    (InsufficientStock). In a full count, a line never counted is recorded as 0.
    """
    count = _lock(count, "post")
    lines = list(count.lines.order_by("variant_id"))
    if not any(line.counted is not None for line in lines):
        raise CountNothingCounted(count)
    if count.kind == Kind.FULL:
        never_counted = [line.pk for line in lines if line.counted is None]
        StockCountLine.objects.filter(pk__in=never_counted).update(counted=0)
        for line in lines:
            if line.counted is None:
                line.counted = 0
    for line in lines:  # variant order: the lock order of the stock levels
        if line.variance:
            stock_adjust(
                variant_id=line.variant_id,
                location_id=count.location_id,
                quantity=line.variance,
                reason=StockMovement.Reason.COUNT,
                user=user,
                source=count,
                note=str(count),
            )
    count.status = Status.POSTED
    count.posted_at = timezone.now()
    count.posted_by = _user(user)
    count.accuracy = _accuracy(lines)
    count.save(update_fields=["status", "posted_at", "posted_by", "accuracy"])
    return count


@transaction.atomic
def count_cancel(*, count: StockCount, user: AbstractBaseUser | None = None) -> StockCount:
    """Drop an open count; nothing is posted."""
    count = _lock(count, "cancel")
    count.status = Status.CANCELLED
    count.save(update_fields=["status"])
    return count
