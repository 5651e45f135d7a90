"""Stock reads shared by the API, the POS, the admin and the workers.

``available = on_hand − reserved − safety``, where reservations past their time no
longer count even before the expiry task has released them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import (
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Now

from catalog.models import Product, Publication, SalesChannel, Variant
from catalog.selectors import product_search
from inventory.models import ChannelStock, Reservation, StockLevel

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


def channel_stock(*, variant_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """{variant_id: {channel_id: sellable quantity}} as the stock worker last computed it
    (within a second of any change; see docs/architecture.md). Missing means 0."""
    result: dict[int, dict[int, int]] = defaultdict(dict)
    rows = ChannelStock.objects.filter(variant_id__in=list(variant_ids)).values_list(
        "variant_id", "channel_id", "quantity"
    )
    for variant_id, channel_id, quantity in rows:
        result[variant_id][channel_id] = quantity
    return result


def storefront_products(
    *,
    channel: SalesChannel | None = None,
    category_ids: list[int] | None = None,
    in_stock: bool | None = None,
    search: str = "",
) -> QuerySet[Product]:
    """Active products for a front end: published on ``channel`` when given, in a
    category subtree, with (or without) sellable stock, matching a search."""
    products = Product.objects.filter(is_active=True)
    if channel is not None:
        products = products.filter(
            Exists(Publication.objects.filter(product=OuterRef("pk"), channel=channel))
        )
    if category_ids is not None:
        products = products.filter(category_id__in=category_ids)
    if search:
        products = product_search(products, text=search)
    if in_stock is not None:
        sellable = ChannelStock.objects.filter(
            variant__product=OuterRef("pk"), variant__is_active=True, quantity__gt=0
        )
        if channel is not None:
            sellable = sellable.filter(channel=channel)
        products = (
            products.filter(Exists(sellable)) if in_stock else products.exclude(Exists(sellable))
        )
    return products.select_related("category").prefetch_related(
        Prefetch(
            "variants",
            queryset=Variant.objects.filter(is_active=True)
            .order_by("id")
            .prefetch_related("barcodes"),
        )
    )
