"""The storefront catalog page, built by PostgreSQL in one statement.

The product list is the hottest read of the platform (every visitor of every front end).
Building it with the ORM meant a few hundred model instances and five queries per page;
here one prepared statement filters, pages (keyset on the product id) and renders the
page as JSON: products, their category path, active variants, barcodes, the price for
the channel and what each channel may sell (the stock worker's figures). Python only
wraps it. ``tests/api/test_catalog_api.py`` holds the shape to the documented serializer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from catalog.models import (
    Barcode,
    Category,
    ChannelPrice,
    Product,
    Publication,
    SalesChannel,
    Variant,
)
from inventory.models import ChannelStock


@dataclass(frozen=True)
class Page:
    results_json: str  # a JSON array of products
    first_id: int | None
    last_id: int | None
    more_after: bool  # another page follows in the direction read
    count: int


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
) -> Page:
    """One page of active products, ``after`` (or ``before``) a product id, in id order.

    ``channel`` restricts to the products published there and prices for it;
    ``channels`` are those whose sellable quantities are shown.
    """
    product = Product._meta.db_table
    joins, conditions, params = "", ["p.is_active"], []
    if channel is not None:
        # A join rather than EXISTS: the keyset bound below then also applies to the
        # channel's publications, and the scan starts at the cursor instead of at zero.
        joins = (
            f"JOIN {Publication._meta.db_table} pb ON pb.product_id = p.id AND pb.channel_id = %s"
        )
        params.append(channel.pk)
    if category_ids is not None:
        conditions.append("p.category_id = ANY(%s::bigint[])")
        params.append(category_ids)
    if product_ids is not None:
        conditions.append("p.id = ANY(%s::bigint[])")
        params.append(product_ids)
    if search.strip():
        text = search.strip()
        conditions.append(
            f"(p.name ILIKE %s"  # noqa: S608 - table names come from the models
            f" OR EXISTS (SELECT 1 FROM {Variant._meta.db_table} sv"
            f"            WHERE sv.product_id = p.id AND upper(sv.sku) = upper(%s))"
            f" OR EXISTS (SELECT 1 FROM {Barcode._meta.db_table} sb"
            f"            JOIN {Variant._meta.db_table} bv ON bv.id = sb.variant_id"
            f"            WHERE bv.product_id = p.id AND sb.code = %s))"
        )
        params += [_like(text), text, text]
    if in_stock is not None:
        for_channel = " AND cs.channel_id = %s" if channel is not None else ""
        conditions.append(
            f"{'' if in_stock else 'NOT '}EXISTS ("  # noqa: S608
            f"SELECT 1 FROM {ChannelStock._meta.db_table} cs"
            f" JOIN {Variant._meta.db_table} iv ON iv.id = cs.variant_id"
            f" WHERE iv.product_id = p.id AND iv.is_active AND cs.quantity > 0{for_channel})"
        )
        if channel is not None:
            params.append(channel.pk)
    order = "ASC"
    bound = None
    if after is not None:
        bound, order = (">", after), "ASC"
    elif before is not None:
        bound, order = ("<", before), "DESC"
    if bound is not None:
        conditions.append(f"p.id {bound[0]} %s")
        params.append(bound[1])
        if channel is not None:
            conditions.append(f"pb.product_id {bound[0]} %s")
            params.append(bound[1])
    stock_table = ChannelStock._meta.db_table
    if len(channels) == 1:
        # One channel (every channel key): a plain join, no aggregate per variant.
        sellable = ""
        sellable_join = f"LEFT JOIN {stock_table} cs ON cs.variant_id = v.id AND cs.channel_id = %s"
        availability = "json_build_object(%s::text, COALESCE(cs.quantity, 0))"
        availability_params = [channels[0].pk, channels[0].code]
    else:
        sellable = f""", sellable AS (
            SELECT v.id AS variant_id,
                   json_object_agg(ch.code, COALESCE(cs.quantity, 0) ORDER BY ch.code) AS qty
              FROM variants v
             CROSS JOIN unnest(%s::bigint[], %s::text[]) AS ch(id, code)
              LEFT JOIN {stock_table} cs ON cs.channel_id = ch.id AND cs.variant_id = v.id
             GROUP BY v.id
        )"""  # noqa: S608 - table names come from the models
        sellable_join = "LEFT JOIN sellable a ON a.variant_id = v.id"
        availability = "COALESCE(a.qty, '{}'::json)"
        availability_params = [[c.pk for c in channels], [c.code for c in channels]]
    sql = f"""
        WITH RECURSIVE tree AS (
            SELECT id, slug, name, ARRAY[name::text] AS path
              FROM {Category._meta.db_table} WHERE parent_id IS NULL
            UNION ALL
            SELECT c.id, c.slug, c.name, tree.path || c.name::text
              FROM {Category._meta.db_table} c JOIN tree ON c.parent_id = tree.id
        ), fetched AS (
            SELECT p.id, p.name, p.brand, p.description, p.vat_rate, p.category_id
              FROM {product} p {joins}
             WHERE {" AND ".join(conditions)}
             ORDER BY p.id {order}
             LIMIT %s
        ), shown AS (
            SELECT * FROM fetched ORDER BY id {order} LIMIT %s
        ), variants AS (
            SELECT v.id, v.product_id, v.sku, v.attributes, v.currency,
                   COALESCE(cp.price_amount, v.price_amount) AS price
              FROM {Variant._meta.db_table} v
              JOIN shown s ON s.id = v.product_id
              LEFT JOIN {ChannelPrice._meta.db_table} cp
                     ON cp.variant_id = v.id AND cp.channel_id = %s
             WHERE v.is_active
        ), codes AS (
            SELECT b.variant_id, json_agg(b.code ORDER BY b.code) AS codes
              FROM {Barcode._meta.db_table} b JOIN variants v ON v.id = b.variant_id
             GROUP BY b.variant_id
        ){sellable}, per_product AS (
            SELECT v.product_id, json_agg(json_build_object(
                       'id', v.id,
                       'sku', v.sku,
                       'barcodes', COALESCE(c.codes, '[]'::json),
                       'attributes', v.attributes,
                       'price', json_build_object('amount', v.price::text,
                                                  'currency', v.currency),
                       'availability', {availability}
                   ) ORDER BY v.id) AS variants
              FROM variants v
              LEFT JOIN codes c ON c.variant_id = v.id
              {sellable_join}
             GROUP BY v.product_id
        )
        SELECT (SELECT count(*) FROM fetched),
               (SELECT min(id) FROM shown),
               (SELECT max(id) FROM shown),
               (SELECT count(*) FROM shown),
               COALESCE(json_agg(json_build_object(
                   'id', s.id,
                   'name', s.name,
                   'brand', s.brand,
                   'description', s.description,
                   'category', (SELECT json_build_object('slug', t.slug, 'name', t.name,
                                                         'path', to_json(t.path))
                                  FROM tree t WHERE t.id = s.category_id),
                   'vat_rate', s.vat_rate::text,
                   'variants', COALESCE(pp.variants, '[]'::json)
               ) ORDER BY s.id), '[]'::json)::text
          FROM shown s
          LEFT JOIN per_product pp ON pp.product_id = s.id
    """  # noqa: S608 - table names come from the models, values are parameters
    # Placeholders in the order they appear: page bounds, the price channel, then the
    # sellable figures (a CTE for several channels, a join and the code for one).
    params += [limit + 1, limit, channel.pk if channel is not None else None]
    if len(channels) == 1:
        params += [availability_params[1], availability_params[0]]
    else:
        params += availability_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched, first_id, last_id, count, results = cursor.fetchone()
    return Page(results, first_id, last_id, fetched > limit, count)
