"""Catalog reads shared by the faces."""

from __future__ import annotations

from catalog.exceptions import UnknownCode
from catalog.models import Category, SalesChannel, Variant
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
