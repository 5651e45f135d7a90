"""Reading a priced cart under load, with 200 active promotions and a voucher code.

Over HTTP against gunicorn (persistent database connections), 8 concurrent readers GET
carts of 20 lines each (products in 4 categories), each cart holding a voucher code, while
200 promotions are active on the channel (bench/promotions.py: catalogue, line, buy X get
Y, order thresholds, stackable ones) over a catalogue of 400 products in 20 categories:
as in a real shop, a cart meets the order-level offers and a few dozen of the others.
Every read prices the cart with the engine (orders.pricing): today's prices, the offers
that apply (the automatic ones remembered by the web process for
PRICING_OFFERS_CACHE_SECONDS, as shipped), the code, VAT per rate.
    .venv/bin/python bench/bench_cart_read.py      (or: make bench NAMES=cart_read)

Figures: reads per second, p50/p99 latency, SQL statements per read with the 200
promotions and, in the same run, with them switched off (counted in-process through
Django's test client, the process's memory of promotions emptied first, so the offers
query is counted): the count must not grow with the number of promotions.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from decimal import Decimal

from common import django_setup, gunicorn, now_iso, percentile, report, stack
from promotions import promotions_prepare, promotions_switch

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
READERS = int(os.environ.get("BENCH_READERS", "8"))
PROMOTIONS = int(os.environ.get("BENCH_PROMOTIONS", "200"))
LINES = 20
CARTS = 16
KEY = "uck_bench-cart-read-web-key"
CODE = "BENCHREADCODE"


PRODUCTS = 400  # the catalogue the promotions target; the carts hold 20 of them
CATEGORIES = 20


def _catalogue(channel, warehouse) -> tuple[list, list, list]:
    """400 products in 20 categories, one variant each; the first 20 (in 4 categories)
    are in stock and fill the carts."""
    from catalog.models import Category, Product, Variant
    from inventory.services.stock import stock_receive

    categories = [
        Category.objects.get_or_create(
            slug=f"bench-read-{n}", defaults={"name": f"Bench read {n}"}
        )[0]
        for n in range(CATEGORIES)
    ]
    known = {v.sku: v for v in Variant.objects.filter(sku__startswith="BENCH-READ-")}
    products, variants = [], []
    for n in range(PRODUCTS):
        variant = known.get(f"BENCH-READ-{n}")
        if variant is None:
            category = categories[n % 4] if n < LINES else categories[n % CATEGORIES]
            product = Product.objects.create(name=f"Bench read product {n}", category=category)
            variant = Variant.objects.create(
                product=product, sku=f"BENCH-READ-{n}", price_amount=Decimal(10 + n % 90)
            )
            if n < LINES:
                stock_receive(variant_id=variant.pk, location_id=warehouse.pk, quantity=10**6)
        products.append(variant.product)
        variants.append(variant)
    return categories, products, variants


def prepare() -> dict:
    from inventory.models import Location
    from loyalty.models import Promotion, VoucherCode
    from orders.models import Cart
    from orders.services.cart_discounts import cart_voucher_apply
    from orders.services.carts import cart_create, cart_line_add
    from unicommerce.channels.models import ApiKey, SalesChannel
    from unicommerce.channels.services import api_key_hash

    web, _ = SalesChannel.objects.get_or_create(
        code="bench-read-web", defaults={"name": "Bench cart read web", "kind": "web"}
    )
    if not ApiKey.objects.filter(key_hash=api_key_hash(KEY)).exists():
        ApiKey.objects.create(
            channel=web, name="bench", prefix=KEY[:12], key_hash=api_key_hash(KEY)
        )
    warehouse, _ = Location.objects.get_or_create(
        code="bench-read-wh", defaults={"name": "Bench read warehouse", "kind": "warehouse"}
    )
    warehouse.channels.add(web)
    categories, products, variants = _catalogue(web, warehouse)
    active = promotions_prepare(
        channel=web, products=products, categories=categories, count=PROMOTIONS
    )
    campaign, _ = Promotion.objects.get_or_create(
        name="Bench read voucher",
        defaults={
            "stage": "order",
            "reward": "percent",
            "value": Decimal(5),
            "requires_code": True,
        },
    )
    VoucherCode.objects.get_or_create(promotion=campaign, code=CODE)
    carts = list(Cart.objects.filter(channel=web, status="open", checked_out_at__isnull=True))
    while len(carts) < CARTS:
        cart = cart_create(channel=web)
        for variant in variants[:LINES]:
            cart_line_add(cart=cart, variant=variant, quantity=1 + variant.pk % 3)
        cart_voucher_apply(cart=cart, code=CODE, caller="bench", channel=web)
        carts.append(cart)
    return {"tokens": [cart.token for cart in carts[:CARTS]], "promotions": active}


def read_all(address: str, tokens: list[str], seconds: float) -> dict:
    host, port = address.split(":")
    stop_at = time.monotonic() + seconds
    latencies, errors = [], []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {KEY}", "Accept-Language": "en"}

    def run(index: int) -> None:
        mine, failed, n = [], [], index
        while time.monotonic() < stop_at:
            token = tokens[n % len(tokens)]
            n += READERS
            started = time.perf_counter()
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                connection.request("GET", f"/api/v1/carts/{token}/", headers=headers)
                response = connection.getresponse()
                body = response.read()
            finally:
                connection.close()
            if response.status != 200:
                failed.append(f"{response.status} {body[:200]!r}")
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    cpu_before = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "load_generator_cores": (time.process_time() - cpu_before) / elapsed,
    }


def queries_per_read(token: str) -> tuple[int, dict]:
    """One read in-process through the test client: statements, and the cart's figures."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.pricing.offers import offers_forget

    client = Client(HTTP_AUTHORIZATION=f"Bearer {KEY}", HTTP_HOST="127.0.0.1")
    client.get(f"/api/v1/carts/{token}/")  # the key cached, as in a warm worker
    offers_forget()  # the offers query counted, as on a cold read
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"/api/v1/carts/{token}/").json()
    return len(queries), body


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        data = prepare()
        token = data["tokens"][0]
        with_promotions, body = queries_per_read(token)
        promotions_switch(False)
        try:
            without, _ = queries_per_read(token)
        finally:
            promotions_switch(True)
        with gunicorn() as address:
            read_all(address, data["tokens"], WARMUP)
            run = read_all(address, data["tokens"], SECONDS)
        latencies = run["latencies"]
        figures = {
            "reads_per_s": round(len(latencies) / run["elapsed"], 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "queries_per_read": with_promotions,
            "queries_per_read_without_promotions": without,
            "extra_queries_with_promotions": with_promotions - without,
            "errors": len(run["errors"]),
            "reads": len(latencies),
            "cart_discount": body["discount_amount"],
            "offers_applied": len(body["promotions"]) + len(body["vouchers"]),
            "load_generator_cores": round(run["load_generator_cores"], 2),
        }
        report(
            "cart_read",
            started_at=started_at,
            workload={
                "readers": READERS,
                "seconds": SECONDS,
                "promotions_active": data["promotions"],
                "lines_per_cart": LINES,
                "carts": len(data["tokens"]),
                "voucher_per_cart": 1,
                "request": "GET /api/v1/carts/<token>/ with the channel's secret key",
            },
            figures=figures,
            targets={"p99_ms": "<= 50", "extra_queries_with_promotions": "<= 0", "errors": "<= 0"},
        )


if __name__ == "__main__":
    main()
