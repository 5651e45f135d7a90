"""The storefront catalog list under load: 100,000 variants × 20 locations.

A web front end (its channel API key) pages through `/api/v1/products/` (20 products a
page, with prices and what the web channel may sell; one request in 10 is the first
page, without a cursor) with 8 concurrent connections,
against gunicorn with persistent database connections. The one-query view ceiling is
measured in the same run.
    .venv/bin/python bench/bench_catalog_list.py      (or: make bench NAMES=catalog_list)

The data (20,000 products, 100,000 variants, 2,000,000 stock levels with their ledger
rows, the per-channel figures) is generated once in SQL and kept in the bench database.
"""

import os
import random
import time

from common import (
    django_setup,
    gunicorn,
    load,
    now_iso,
    report,
    stack,
    stock_opening_movements,
    vacuum_analyze,
)

VARIANTS = int(os.environ.get("BENCH_VARIANTS", "100000"))
VARIANTS_PER_PRODUCT = 5
LOCATIONS = 20
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CONCURRENCY = 8
PAGE_SIZE = 20
FIRST_PAGE_EVERY = 10  # one request in 10 asks for the first page
KEY = "uck_bench-web-channel-key"


def generate() -> dict:
    """Build the catalog and stock in SQL (idempotent: skipped when already there)."""
    from django.db import connection, transaction

    from catalog.models import Variant
    from inventory.services.locations import channel_stock_rebuild

    started = time.monotonic()
    web = _web_channel()
    if Variant.objects.filter(sku__startswith="BV").count() >= VARIANTS:
        return {"generated": False, "seconds": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        locations = _locations(web)
        _catalog_insert(cursor, VARIANTS // VARIANTS_PER_PRODUCT)
        location_ids = [location.pk for location in locations]
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (variant_id, location_id, on_hand, reserved,
                                              incoming, safety, updated_at)
            SELECT v.id, l, (v.id * 7 + l * 13) %% 12, 0, 0, 0, now()
              FROM catalog_variant v CROSS JOIN unnest(%s::bigint[]) AS l
             WHERE v.sku LIKE 'BV%%'
            """,
            [location_ids],
        )
        stock_opening_movements(cursor, location_ids)
    channel_stock_rebuild()
    vacuum_analyze()
    return {"generated": True, "seconds": round(time.monotonic() - started, 1)}


def _web_channel():
    """The web channel, with the key its front end calls with."""
    from unicommerce.channels.models import ApiKey, SalesChannel
    from unicommerce.channels.services import api_key_hash

    web, _ = SalesChannel.objects.get_or_create(
        code="bench-web", defaults={"name": "Bench web", "kind": "web"}
    )
    if not ApiKey.objects.filter(key_hash=api_key_hash(KEY)).exists():
        ApiKey.objects.create(
            channel=web, name="bench", prefix=KEY[:12], key_hash=api_key_hash(KEY)
        )
    return web


def _locations(web) -> list:
    """Two warehouses feeding the web, app and marketplace channels, and stores each
    feeding its own store channel and the web."""
    from inventory.models import Location
    from unicommerce.channels.models import SalesChannel

    channels = [web]
    for code, kind in [("bench-app", "app"), ("bench-marketplace", "marketplace")]:
        channels.append(
            SalesChannel.objects.get_or_create(code=code, defaults={"name": code, "kind": kind})[0]
        )
    locations = []
    for index in range(LOCATIONS):
        kind = "warehouse" if index < 2 else "store"
        location, _ = Location.objects.get_or_create(
            code=f"bench-{index:02d}", defaults={"name": f"Bench {kind} {index}", "kind": kind}
        )
        if kind == "store":
            store_channel, _ = SalesChannel.objects.get_or_create(
                code=f"bench-store-{index:02d}",
                defaults={"name": location.name, "kind": "store"},
            )
            location.channels.add(store_channel, web)
        else:
            location.channels.add(*channels)
        locations.append(location)
    return locations


def _catalog_insert(cursor, products: int) -> None:
    """The products, published on every channel, their variants and barcodes."""
    from unicommerce.channels.models import SalesChannel

    cursor.execute(
        """
        INSERT INTO catalog_product (name, description, brand, vat_rate, is_active,
                                     created_at, updated_at)
        SELECT 'Bench product ' || g, 'Generated for the catalog benchmark.',
               'Brand ' || (g %% 50), 20.0, true, now(), now()
          FROM generate_series(1, %s) AS g
        RETURNING id
        """,
        [products],
    )
    product_ids = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        """
        INSERT INTO catalog_publication (product_id, channel_id, published_at)
        SELECT p, c, now() FROM unnest(%s::bigint[]) AS p CROSS JOIN unnest(%s::bigint[]) AS c
        """,
        [product_ids, [c.pk for c in SalesChannel.objects.all()]],
    )
    cursor.execute(
        """
        INSERT INTO catalog_variant (product_id, sku, attributes, price_amount, currency,
                                     is_active)
        SELECT p.id, 'BV' || lpad((p.ord * 10 + s)::text, 8, '0'),
               jsonb_build_object('size', (ARRAY['XS','S','M','L','XL'])[s]),
               19.90 + (p.ord %% 40), 'EUR', true
          FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)
         CROSS JOIN generate_series(1, %s) AS s
        """,
        [product_ids, VARIANTS_PER_PRODUCT],
    )
    cursor.execute(
        """
        INSERT INTO catalog_barcode (variant_id, code, created_at)
        SELECT id, '29' || lpad(id::text, 11, '0'), now()
          FROM catalog_variant WHERE sku LIKE 'BV%%'
        """
    )


def queries_per_request() -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {KEY}", HTTP_HOST="127.0.0.1")
    client.get("/api/v1/products/")  # warm: the key's last-used stamp, and its cache entry
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/products/", {"page_size": PAGE_SIZE})
    assert response.status_code == 200, response.content[:500]
    assert len(response.json()["results"]) == PAGE_SIZE
    return len(queries)


def page_paths() -> list[str]:
    """Cursors spread over the whole catalog, so the load is not one hot page, and the
    first page (no cursor: where every visit starts) as one request in FIRST_PAGE_EVERY."""
    from base64 import b64encode

    from catalog.models import Product

    ids = list(Product.objects.filter(name__startswith="Bench").values_list("id", flat=True))
    random.seed(11)
    paths = []
    for index, product_id in enumerate(random.sample(ids, 200)):
        if index % FIRST_PAGE_EVERY == 0:
            paths.append(f"/api/v1/products/?page_size={PAGE_SIZE}")
            continue
        cursor = b64encode(f"a={product_id}".encode()).decode()
        paths.append(f"/api/v1/products/?page_size={PAGE_SIZE}&cursor={cursor}")
    return paths


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        data = generate()
        queries = queries_per_request()
        paths = page_paths()
        with gunicorn() as address:
            ceiling = load(
                address, ["/bench/one-query"], concurrency=CONCURRENCY, seconds=SECONDS / 2
            )
            figures = load(
                address,
                paths,
                concurrency=CONCURRENCY,
                seconds=SECONDS,
                headers={"Authorization": f"Bearer {KEY}"},
            )
        figures["queries_per_request"] = queries
        figures["ceiling_rps"] = ceiling["rps"]
        figures["ceiling_errors"] = ceiling["errors"]  # a refused ceiling is no ceiling
        figures["ratio_to_ceiling"] = round(figures["rps"] / ceiling["rps"], 3)
        report(
            "catalog_list",
            started_at=started_at,
            workload={
                "variants": VARIANTS,
                "products": VARIANTS // VARIANTS_PER_PRODUCT,
                "locations": LOCATIONS,
                "page_size": PAGE_SIZE,
                "concurrency": CONCURRENCY,
                "seconds": SECONDS,
                "data_generated_seconds": data["seconds"],
                "caller": "a channel key through the permission table, limits on as shipped",
            },
            figures=figures,
            targets={
                "rps": ">= 300",
                "p99_ms": "<= 50",
                "errors": "<= 0",
                "ceiling_errors": "<= 0",
            },
        )


if __name__ == "__main__":
    main()
