"""The storefront catalog page, built by PostgreSQL in one statement.

The product list is the hottest read of the platform (every visitor of every front end).
Building it with the ORM meant a few hundred model instances and five queries per page;
here one prepared statement filters, pages (keyset on the product id) and renders the
page as JSON: products, their category path, active variants, barcodes, the price for
the channel and what each channel may sell (the stock worker's figures). Python only
wraps it. ``tests/api/test_catalog_api.py`` holds the shape to the documented serializer.

How the statement stays cheap (psycopg prepares it and PostgreSQL runs it on a generic
plan, so it must not depend on the planner guessing right):

- the page size is written into the statement rather than passed: a parameter LIMIT is
  estimated at a tenth of the table, with which the first page hashed the whole barcode
  table (20 ms instead of 1) and bigger plans went over ``jit_above_cost`` (JIT
  compilation, 50 to 100 ms, where the server has JIT);
- everything below a product is reached through correlated subqueries (its variants,
  their barcodes, price and figures), so every table is read through an index;
- the JSON is written as text: ``||`` on the values, ``to_json()`` only to quote text,
  numbers as they print. ``json_build_object``/``json_agg`` cost about twice as much per
  value. The text is the same byte for byte as theirs: ``"key" : value`` and ``", "``,
  ``json_object_agg``'s ``{ … }``, ``to_json(text[])``'s ``[…]`` without spaces;
- the page is read once, in keyset order: ``row_number()`` marks the extra row that only
  tells whether another page follows, instead of a second sort;
- a category's path is walked up from the categories on the page, instead of building
  the whole tree and scanning it for each product;
- the SKU and barcode searches are uncorrelated ``IN`` subqueries, read at most once per
  statement (and not at all while names match), not once per product.

Pictures: the statement writes each product's pictures with their storage names, and
counts the products that have one. Only a page with pictures is then read by Python,
which asks the storage for every address (``storage.url()``: a folder's URL, or an S3
one, signed or not) and puts each variant's own pictures under it too; a page without
pictures goes out as PostgreSQL wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from catalog.images import image_payload
from catalog.models import (
    Barcode,
    Category,
    ChannelPrice,
    Product,
    ProductImage,
    Publication,
    Variant,
)
from inventory.models import ChannelStock
from unicommerce.channels.models import SalesChannel


@dataclass(frozen=True)
class Page:
    results_json: str  # a JSON array of products
    first_id: int | None
    last_id: int | None
    more_after: bool  # another page follows in the direction read
    count: int


# A picture of the product, or of one of its active variants.
_IMAGE_SHOWN = (
    f"(pi.variant_id IS NULL OR EXISTS (SELECT 1 FROM {Variant._meta.db_table} iv"  # noqa: S608
    f" WHERE iv.id = pi.variant_id AND iv.is_active))"
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def storefront_page(
    *,
    channels: list[SalesChannel],
    channel: SalesChannel | None = None,
    category_ids: list[int] | None = None,
    in_stock: bool | None = None,
    search: str = "",
    after: int | None = None,
    before: int | None = None,
    product_ids: list[int] | None = None,
    limit: int = 20,
    absolute: Callable[[str], str] = str,
) -> Page:
    """One page of active products, ``after`` (or ``before``) a product id, in id order.

    ``channel`` restricts to the products published there and prices for it;
    ``channels`` are those whose sellable quantities are shown; ``absolute`` turns the
    storage's picture addresses into absolute URLs (a folder's are relative).
    """
    limit = int(limit)  # written into the statement (see above), so an int for sure
    params: dict = {"channel": channel.pk if channel is not None else None}
    joins = _publication_join(channel)
    conditions = _conditions(
        params,
        channel=channel,
        category_ids=category_ids,
        product_ids=product_ids,
        search=search,
        in_stock=in_stock,
    )
    order = _keyset(params, conditions, channel=channel, after=after, before=before)
    keys, sellable_join, availability = _availability(params, channels)
    sql = _fetched_sql(order=order, limit=limit, joins=joins, conditions=conditions, keys=keys)
    sql += _page_sql(sellable_join=sellable_join, availability=availability)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched, first_id, last_id, count, pictured, results = cursor.fetchone()
    if pictured:
        results = _with_picture_addresses(results, absolute)
    return Page(results, first_id, last_id, fetched > limit, count)


def _publication_join(channel: SalesChannel | None) -> str:
    if channel is None:
        return ""
    # A join rather than EXISTS: the keyset bound below then also applies to the
    # channel's publications, and the scan starts at the cursor instead of at zero.
    return (
        f"JOIN {Publication._meta.db_table} pb"
        f" ON pb.product_id = p.id AND pb.channel_id = %(channel)s"
    )


def _conditions(
    params: dict,
    *,
    channel: SalesChannel | None,
    category_ids: list[int] | None,
    product_ids: list[int] | None,
    search: str,
    in_stock: bool | None,
) -> list[str]:
    """The filters on the products (their values added to ``params``)."""
    variant, stock = Variant._meta.db_table, ChannelStock._meta.db_table
    conditions = ["p.is_active"]
    if category_ids is not None:
        conditions.append("p.category_id = ANY(%(category_ids)s::bigint[])")
        params["category_ids"] = category_ids
    if product_ids is not None:
        conditions.append("p.id = ANY(%(product_ids)s::bigint[])")
        params["product_ids"] = product_ids
    if search.strip():
        # Uncorrelated IN: each set is read once per statement (not once per product),
        # and only for the products whose name does not match.
        conditions.append(
            f"(p.name ILIKE %(like)s"  # noqa: S608 - table names come from the models
            f" OR p.id IN (SELECT sv.product_id FROM {variant} sv"
            f"             WHERE upper(sv.sku) = upper(%(search)s))"
            f" OR p.id IN (SELECT bv.product_id FROM {Barcode._meta.db_table} sb"
            f"             JOIN {variant} bv ON bv.id = sb.variant_id"
            f"             WHERE sb.code = %(search)s))"
        )
        params["like"], params["search"] = _like(search.strip()), search.strip()
    if in_stock is not None:
        for_channel = " AND cs.channel_id = %(channel)s" if channel is not None else ""
        conditions.append(
            f"{'' if in_stock else 'NOT '}EXISTS ("  # noqa: S608
            f"SELECT 1 FROM {stock} cs"
            f" JOIN {variant} iv ON iv.id = cs.variant_id"
            f" WHERE iv.product_id = p.id AND iv.is_active AND cs.quantity > 0{for_channel})"
        )
    return conditions


def _keyset(
    params: dict,
    conditions: list[str],
    *,
    channel: SalesChannel | None,
    after: int | None,
    before: int | None,
) -> str:
    """Add the keyset bound to ``conditions``; the order to read in (ASC or DESC)."""
    order = "ASC"
    if after is not None:
        conditions.append("p.id > %(bound)s")
        params["bound"] = after
    elif before is not None:
        conditions.append("p.id < %(bound)s")
        params["bound"], order = before, "DESC"
    if "bound" in params and channel is not None:
        conditions.append(f"pb.product_id {'>' if order == 'ASC' else '<'} %(bound)s")
    return order


def _availability(params: dict, channels: list[SalesChannel]) -> tuple[str, str, str]:
    """What each channel may sell, as SQL: (the keys CTE, the figures' join, the JSON
    expression of a variant's availability)."""
    stock = ChannelStock._meta.db_table
    if len(channels) == 1:
        # One channel (every channel key): one row of its figures per variant.
        keys = ""
        sellable_join = (
            f"LEFT JOIN {stock} cs ON cs.variant_id = v.id AND cs.channel_id = %(sellable)s"
        )
        availability = (
            "(SELECT '{' || to_json(%(code)s::text)::text || ' : ')"
            " || COALESCE(cs.quantity, 0) || '}'"
        )
        params["sellable"], params["code"] = channels[0].pk, channels[0].code
        return keys, sellable_join, availability
    # The channels' keys are quoted and put in order once, not for every variant.
    keys = """, keys AS MATERIALIZED (
            SELECT ch.id, to_json(ch.code)::text || ' : ' AS key,
                   row_number() OVER (ORDER BY ch.code) AS position
              FROM unnest(%(channel_ids)s::bigint[], %(channel_codes)s::text[]) AS ch(id, code)
        )"""
    availability = f"""COALESCE((
            SELECT '{{ ' || string_agg(k.key || COALESCE(cs.quantity, 0), ', '
                                      ORDER BY k.position) || ' }}'
              FROM keys k
              LEFT JOIN {stock} cs ON cs.channel_id = k.id AND cs.variant_id = v.id
        ), '{{}}')"""  # noqa: S608 - table names come from the models
    params["channel_ids"] = [c.pk for c in channels]
    params["channel_codes"] = [c.code for c in channels]
    return keys, "", availability


def _fetched_sql(*, order: str, limit: int, joins: str, conditions: list[str], keys: str) -> str:
    """The statement's CTEs: the page's products (and the one after), their categories'
    paths, the channels' keys."""
    category = Category._meta.db_table
    return f"""
        WITH RECURSIVE fetched AS (
            SELECT p.id, p.name, p.brand, p.description, p.vat_rate, p.category_id,
                   row_number() OVER (ORDER BY p.id {order}) <= {limit} AS shown
              FROM {Product._meta.db_table} p {joins}
             WHERE {" AND ".join(conditions)}
             ORDER BY p.id {order}
             LIMIT {limit + 1}
        ), ancestors AS (
            SELECT c.id AS leaf, c.id, c.parent_id, c.name, 0 AS depth
              FROM {category} c
             WHERE c.id IN (SELECT f.category_id FROM fetched f WHERE f.shown)
            UNION ALL
            SELECT a.leaf, c.id, c.parent_id, c.name, a.depth + 1
              FROM ancestors a JOIN {category} c ON c.id = a.parent_id
        ) CYCLE id SET looped USING route, categories AS (
            SELECT a.leaf,
                   '{{"slug" : ' || to_json(l.slug::text)::text
                   || ', "name" : ' || to_json(l.name::text)::text
                   || ', "path" : [' || string_agg(to_json(a.name::text)::text, ','
                                                   ORDER BY a.depth DESC) || ']}}' AS json
              FROM ancestors a JOIN {category} l ON l.id = a.leaf
             WHERE NOT a.looped
             GROUP BY a.leaf, l.id
            HAVING bool_or(a.parent_id IS NULL)  -- under a root, as a walk down would find
        ){keys}
"""  # noqa: S608 - table names come from the models, values are parameters


def _page_sql(*, sellable_join: str, availability: str) -> str:
    """The statement's SELECT: the counts, and the page's products as JSON text."""
    image = ProductImage._meta.db_table
    return f"""        SELECT count(*),
               min(f.id) FILTER (WHERE f.shown),
               max(f.id) FILTER (WHERE f.shown),
               count(*) FILTER (WHERE f.shown),
               count(*) FILTER (WHERE f.shown AND EXISTS (
                   SELECT 1 FROM {image} pi WHERE pi.product_id = f.id AND {_IMAGE_SHOWN})),
               COALESCE('[' || string_agg(
                   '{{"id" : ' || f.id
                   || ', "name" : ' || to_json(f.name::text)::text
                   || ', "brand" : ' || to_json(f.brand::text)::text
                   || ', "description" : ' || to_json(f.description)::text
                   || ', "category" : ' || COALESCE(c.json, 'null')
                   || ', "vat_rate" : "' || f.vat_rate
                   || '", "variants" : ' || COALESCE((
{_variants_sql(sellable_join=sellable_join, availability=availability)}
                   ), '[]')
                   || ', "images" : ' || COALESCE((
                       SELECT '[' || string_agg(
                           '{{"name" : ' || to_json(pi.image::text)::text
                           || ', "thumbnails" : ' || pi.thumbnails::text
                           || ', "width" : ' || pi.width || ', "height" : ' || pi.height
                           || ', "alt" : ' || to_json(pi.alt::text)::text
                           || ', "variant" : ' || COALESCE(pi.variant_id::text, 'null')
                           || '}}', ', ' ORDER BY pi.position, pi.id) || ']'
                         FROM {image} pi
                        WHERE pi.product_id = f.id AND {_IMAGE_SHOWN}
                   ), '[]')
                   || '}}', ', ' ORDER BY f.id) FILTER (WHERE f.shown) || ']', '[]')
          FROM fetched f
          LEFT JOIN categories c ON c.leaf = f.category_id
    """  # noqa: S608 - table names come from the models, values are parameters


def _variants_sql(*, sellable_join: str, availability: str) -> str:
    """A product's active variants as a JSON array (a correlated subquery on ``f``)."""
    variant = Variant._meta.db_table
    return f"""                       SELECT '[' || string_agg(
                           '{{"id" : ' || v.id
                           || ', "sku" : ' || to_json(v.sku::text)::text
                           || ', "barcodes" : ' || COALESCE((
                               SELECT '[' || string_agg(to_json(b.code::text)::text, ', '
                                                        ORDER BY b.code) || ']'
                                 FROM {Barcode._meta.db_table} b
                                WHERE b.variant_id = v.id
                           ), '[]')
                           || ', "attributes" : ' || v.attributes::text
                           || ', "price" : {{"amount" : "'
                           || COALESCE(cp.price_amount, v.price_amount)
                           || '", "currency" : ' || to_json(v.currency::text)::text
                           || '}}, "availability" : ' || {availability}
                           || ', "images" : []}}', ', ' ORDER BY v.id) || ']'
                         FROM {variant} v
                         LEFT JOIN {ChannelPrice._meta.db_table} cp
                                ON cp.variant_id = v.id AND cp.channel_id = %(channel)s
                         {sellable_join}
                        WHERE v.product_id = f.id AND v.is_active"""  # noqa: S608


def _with_picture_addresses(results_json: str, absolute: Callable[[str], str]) -> str:
    """The page with each picture's storage name turned into its addresses (see the
    module's docstring), and each variant's own pictures under the variant too."""
    products = json.loads(results_json)
    for product in products:
        images = [
            image_payload(
                name=raw["name"],
                thumbnails=raw["thumbnails"],
                width=raw["width"],
                height=raw["height"],
                alt=raw["alt"],
                variant=raw["variant"],
                absolute=absolute,
            )
            for raw in product["images"]
        ]
        product["images"] = images
        for variant in product["variants"]:
            variant["images"] = [i for i in images if i["variant"] == variant["id"]]
    return json.dumps(products, ensure_ascii=False)
