"""Stock reads shared by the API, the POS, the admin and the workers.

``available = on_hand − reserved − safety``, where reservations past their time no
longer count even before the expiry task has released them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import (
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Now

from inventory.models import Reservation, StockLevel

_DUE = (
    Reservation.objects.filter(
        variant_id=OuterRef("variant_id"),
        location_id=OuterRef("location_id"),
        status=Reservation.Status.ACTIVE,
        expires_at__lte=Now(),
    )
    .order_by()
    .values("variant_id")
    .annotate(total=Sum("quantity"))
    .values("total")
)
# Units still held by reservations that have not run out of time.
RESERVED_NOW = F("reserved") - Coalesce(Subquery(_DUE, output_field=IntegerField()), Value(0))
AVAILABLE = Greatest(F("on_hand") - RESERVED_NOW - F("safety"), Value(0))


def levels_with_availability(queryset: QuerySet[StockLevel] | None = None) -> QuerySet[StockLevel]:
    """Stock levels annotated with ``reserved_now`` and ``available_now``."""
    queryset = StockLevel.objects.all() if queryset is None else queryset
    return queryset.annotate(reserved_now=RESERVED_NOW, available_now=AVAILABLE)


def stock_at_locations(*, variant_id: int) -> list[StockLevel]:
    """Every active location's level for one variant (the POS "where else is it?")."""
    return list(
        levels_with_availability(
            StockLevel.objects.filter(variant_id=variant_id, location__is_active=True)
        )
        .select_related("location")
        .order_by("location__kind", "location__name")
    )


def stock_level(*, variant_id: int, location_id: int) -> StockLevel | None:
    return (
        levels_with_availability(
            StockLevel.objects.filter(variant_id=variant_id, location_id=location_id)
        )
        .select_related("location")
        .first()
    )


def available_by_level(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """{(variant_id, location_id): level with available_now / reserved_now} in one query."""
    pairs = list(pairs)
    if not pairs:
        return {}
    variant_ids = {v for v, _ in pairs}
    location_ids = {loc for _, loc in pairs}
    levels = levels_with_availability(
        StockLevel.objects.filter(variant_id__in=variant_ids, location_id__in=location_ids)
    )
    wanted = set(pairs)
    return {
        (level.variant_id, level.location_id): level
        for level in levels
        if (level.variant_id, level.location_id) in wanted
    }
