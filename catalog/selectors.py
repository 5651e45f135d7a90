"""Catalog reads shared by the faces."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection

from catalog.exceptions import UnknownCode
from catalog.images import thumbnail_url
from catalog.models import Category, ProductImage, Variant
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


# Written out: the till's search asks it on every keystroke, and compiling the ORM's
# version (an EXISTS and a CASE in DISTINCT ON's order) cost more than running it.
_THUMBNAILS = f"""
    SELECT DISTINCT ON (image.product_id) image.product_id, image.image, image.thumbnails
      FROM {ProductImage._meta.db_table} image
      LEFT JOIN {Variant._meta.db_table} variant ON variant.id = image.variant_id
     WHERE image.product_id = ANY(%(products)s::bigint[])
       AND (image.variant_id IS NULL OR variant.is_active)
     ORDER BY image.product_id,
              CASE WHEN image.variant_id = ANY(%(variants)s::bigint[])
                        AND EXISTS (SELECT 1 FROM {Variant._meta.db_table} other
                                     WHERE other.product_id = image.product_id
                                       AND other.is_active
                                       AND NOT other.id = ANY(%(variants)s::bigint[])) THEN 0
                   WHEN image.variant_id IS NULL THEN 1
                   ELSE 2 END,
              image.position, image.id
"""  # noqa: S608 - table names come from the models, values are parameters


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
    with connection.cursor() as cursor:
        cursor.execute(_THUMBNAILS, {"products": product_ids, "variants": variant_ids})
        rows = cursor.fetchall()
    # Django has psycopg hand JSON over as text (its fields parse it themselves).
    return {
        pk: thumbnail_url(
            name, json.loads(thumbnails) if isinstance(thumbnails, str) else thumbnails, width
        )
        for pk, name, thumbnails in rows
    }
