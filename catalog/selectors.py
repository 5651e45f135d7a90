"""Catalog reads shared by the faces."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, Exists, OuterRef, Q, Value, When

from catalog.exceptions import UnknownCode
from catalog.images import thumbnail_url
from catalog.models import Category, ProductImage, SalesChannel, Variant
from catalog.search import product_search


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
    """Active variants matching every word of ``text`` (``catalog.search``: name, SKU,
    barcode, brand, attributes, categories, as prefixes, accents and hyphens aside),
    best first: an exact SKU or barcode, then name matches."""
    found: list[Variant] = []
    for match in product_search(text=text, limit=limit, per_product=limit):
        found.extend(match.variants)
    return found[:limit]


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


def product_thumbnails(
    product_ids: Iterable[int], *, variant_ids: Iterable[int] = (), width: int = 160
) -> dict[int, str]:
    """``{product id: address of its picture's thumbnail}`` for the products that have
    one (the POS grid and search results), in one query.

    The picture is the first (by position) of, in this order of preference: the pictures
    of one of ``variant_ids`` when they single out some of the product's variants (those
    a search matched: the navy tee shows navy), the product's own pictures, those of its
    active variants. ``width`` is one of PRODUCT_IMAGE_THUMBNAIL_WIDTHS; the original
    stands in until the thumbnail exists.
    """
    product_ids, variant_ids = list(product_ids), list(variant_ids)
    if not product_ids:
        return {}
    others_not_asked = Exists(
        Variant.objects.filter(product_id=OuterRef("product_id"), is_active=True).exclude(
            pk__in=variant_ids
        )
    )
    preference = Case(
        When(Q(variant_id__in=variant_ids) & Q(others_not_asked=True), then=Value(0)),
        When(variant__isnull=True, then=Value(1)),
        default=Value(2),
    )
    rows = (
        ProductImage.objects.filter(product_id__in=product_ids)
        .filter(Q(variant__isnull=True) | Q(variant__is_active=True))
        .alias(others_not_asked=others_not_asked)
        .order_by("product_id", preference, "position", "id")
        .distinct("product_id")
        .values_list("product_id", "image", "thumbnails")
    )
    return {pk: thumbnail_url(name, thumbnails, width) for pk, name, thumbnails in rows}
