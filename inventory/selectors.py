"""Stock reads shared by the API, the POS and the admin."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest

from inventory.models import StockLevel

AVAILABLE = Greatest(F("on_hand") - F("reserved") - F("safety"), Value(0))


def channel_availability(*, variant_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{variant_id: {channel_code: sellable quantity}} from live stock, in one query.

    Channels without stock for a variant are absent; callers fill in zeros.
    """
    rows = (
        StockLevel.objects.filter(
            variant_id__in=list(variant_ids),
            location__is_active=True,
            location__channels__is_active=True,
        )
        .values("variant_id", "location__channels__code")
        .annotate(quantity=Sum(AVAILABLE))
        .order_by()
    )
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        result[row["variant_id"]][row["location__channels__code"]] = row["quantity"]
    return result


def stock_at_locations(*, variant_id: int) -> list[StockLevel]:
    """Every location's level for one variant (the POS "where else is it?" view)."""
    return list(
        StockLevel.objects.filter(variant_id=variant_id, location__is_active=True)
        .select_related("location")
        .order_by("location__kind", "location__name")
    )


def stock_level(*, variant_id: int, location_id: int) -> StockLevel | None:
    return StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).first()
