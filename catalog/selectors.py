"""Catalog reads shared by the faces."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from catalog.exceptions import UnknownCode
from catalog.models import Barcode, Category, ChannelPrice, Product, SalesChannel, Variant


def variant_by_code(*, code: str) -> Variant:
    """The active variant whose barcode or SKU is ``code`` (what a scanner sends)."""
    code = code.strip()
    active = Variant.objects.select_related("product").prefetch_related("barcodes")
    active = active.filter(is_active=True, product__is_active=True)
    variant = active.filter(barcodes__code=code).first() or active.filter(sku__iexact=code).first()
    if variant is None:
        raise UnknownCode(code)
    return variant


def variant_search(*, text: str, limit: int = 20) -> list[Variant]:
    """Variants whose product name, SKU or barcode contains ``text``."""
    text = text.strip()
    if not text:
        return []
    matching = Variant.objects.filter(
        Q(product__name__icontains=text)
        | Q(sku__icontains=text)
        | Q(product__brand__icontains=text)
        | Q(pk__in=Barcode.objects.filter(code__startswith=text).values("variant_id"))
    )
    return list(
        matching.filter(is_active=True, product__is_active=True)
        .select_related("product")
        .prefetch_related("barcodes")
        .order_by("product__name", "id")[:limit]
    )


def product_list() -> QuerySet[Product]:
    """Active products with their active variants, for listing pages."""
    return Product.objects.filter(is_active=True).prefetch_related(
        Prefetch(
            "variants",
            queryset=Variant.objects.filter(is_active=True)
            .order_by("id")
            .prefetch_related("barcodes"),
        )
    )


def channel_list() -> list[SalesChannel]:
    return list(SalesChannel.objects.filter(is_active=True).order_by("code"))


def category_subtree_ids(*, slug: str) -> list[int] | None:
    """The ids of a category and all its descendants (None when the slug is unknown).

    Categories are few: one query reads the whole tree, the walk happens in Python.
    """
    rows = list(Category.objects.values_list("id", "parent_id", "slug"))
    root = next((pk for pk, _parent, s in rows if s == slug), None)
    if root is None:
        return None
    children: dict[int | None, list[int]] = {}
    for pk, parent, _slug in rows:
        children.setdefault(parent, []).append(pk)
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def category_paths() -> dict[int, list[Category]]:
    """{category id: [root, …, category]} for showing breadcrumbs, in one query."""
    categories = {c.pk: c for c in Category.objects.all()}
    paths: dict[int, list[Category]] = {}
    for pk, category in categories.items():
        path, node, seen = [], category, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            path.append(node)
            node = categories.get(node.parent_id)
        paths[pk] = list(reversed(path))
    return paths


def channel_prices(*, variant_ids: list[int], channel_id: int) -> dict[int, Decimal]:
    """Prices set on purpose for one channel: {variant_id: price}."""
    return dict(
        ChannelPrice.objects.filter(variant_id__in=variant_ids, channel_id=channel_id).values_list(
            "variant_id", "price_amount"
        )
    )


def product_search(queryset: QuerySet[Product], *, text: str) -> QuerySet[Product]:
    """Products whose name contains ``text``, or with a variant whose SKU or barcode is
    ``text`` (what a front end's search box or a scanner sends)."""
    text = text.strip()
    return queryset.filter(
        Q(name__icontains=text)
        | Exists(Variant.objects.filter(product=OuterRef("pk"), sku__iexact=text))
        | Exists(Barcode.objects.filter(variant__product=OuterRef("pk"), code=text))
    )
