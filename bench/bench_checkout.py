"""The full web checkout under load: 8 concurrent buyers on one hot variant.

Each buyer runs, over HTTP against gunicorn (persistent database connections), the whole
journey of a web customer: create a cart, add one unit of the hot variant, identify with
a phone number (a new one every time, so a customer is created), and check out (shipped,
"pay in store", with an Idempotency-Key). The variant has a big stock at one warehouse,
so every checkout reserves on the same stock row.
    .venv/bin/python bench/bench_checkout.py      (or: make bench NAMES=checkout)

Figures: full checkouts per second, p50/p99 of the full journey (4 requests), SQL
statements per journey (counted by running one journey in-process through Django's test
client with CaptureQueriesContext: every statement, BEGIN, COMMIT and savepoints
included, API key already cached as in a warm worker), and oversold units (reserved
beyond on hand, reservations not matching the stock row, on hand not matching the
ledger, orders' units not matching the reservations). The load generator runs on this
machine: its own CPU use is reported.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import threading
import time
import uuid

from common import django_setup, gunicorn, now_iso, percentile, report, stack
from promotions import promotions_prepare

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "8"))
# Active on the channel while buyers check out (bench/promotions.py): every cart is
# priced against them, and the hot variant's product is the target of some.
PROMOTIONS = int(os.environ.get("BENCH_PROMOTIONS", "200"))
STOCK = 10_000_000
KEY = "uck_bench-checkout-web-key"
SKU = "BENCH-CHECKOUT-HOT"
# Then a sell-out: the same buyers on a variant with exactly this many units available.
SELLOUT_SKU = "BENCH-CHECKOUT-LAST"
SELLOUT = int(os.environ.get("BENCH_SELLOUT", "300"))
ADDRESS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}


def prepare() -> dict:
    """The web channel with its key, a warehouse feeding it, the hot variant in stock."""
    from inventory.models import Location, StockLevel
    from inventory.services.stock import stock_adjust, stock_receive
    from unicommerce.channels.models import ApiKey, SalesChannel
    from unicommerce.channels.services import api_key_hash

    web, _ = SalesChannel.objects.get_or_create(
        code="bench-checkout-web", defaults={"name": "Bench checkout web", "kind": "web"}
    )
    if not ApiKey.objects.filter(key_hash=api_key_hash(KEY)).exists():
        ApiKey.objects.create(
            channel=web, name="bench", prefix=KEY[:12], key_hash=api_key_hash(KEY)
        )
    warehouse, _ = Location.objects.get_or_create(
        code="bench-checkout-wh", defaults={"name": "Bench checkout warehouse", "kind": "warehouse"}
    )
    warehouse.channels.add(web)
    variant = _variant(SKU)
    level = StockLevel.objects.filter(variant=variant, location=warehouse).first()
    missing = STOCK - (level.on_hand - level.reserved if level else 0)
    if missing > 0:
        stock_receive(variant_id=variant.pk, location_id=warehouse.pk, quantity=missing)
    last = _variant(SELLOUT_SKU)
    level = StockLevel.objects.filter(variant=last, location=warehouse).first()
    available = level.on_hand - level.reserved if level else 0
    if available > SELLOUT:  # left over from an interrupted run: put it aside
        stock_adjust(
            variant_id=last.pk,
            location_id=warehouse.pk,
            quantity=SELLOUT - available,
            reason="adjustment",
            note="bench sell-out reset",
        )
    elif available < SELLOUT:
        stock_receive(variant_id=last.pk, location_id=warehouse.pk, quantity=SELLOUT - available)
    promotions = promotions_prepare(
        channel=web,
        products=[variant.product, last.product, *_other_products()],
        categories=[],
        count=PROMOTIONS,
    )
    return {
        "channel": web,
        "warehouse": warehouse,
        "variant": variant,
        "last": last,
        "promotions": promotions,
    }


def _other_products() -> list:
    """Products the promotions target besides the bench's two (as in a real catalogue,
    where a cart meets a handful of the active offers)."""
    from catalog.models import Product

    found = list(Product.objects.filter(name__startswith="Bench checkout other "))
    for n in range(len(found), 20):
        found.append(Product.objects.create(name=f"Bench checkout other {n}"))
    return found


def _variant(sku: str):
    from catalog.models import Product, Variant

    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        product = Product.objects.create(name=f"Bench checkout {sku}")
        variant = Variant.objects.create(product=product, sku=sku, price_amount="19.90")
    return variant


class Buyer:
    """One customer after another, each going through the 4 requests of a checkout."""

    def __init__(self, address: str, index: int, nonce: int) -> None:
        self.host, port = address.split(":")
        self.port = int(port)
        self.index, self.nonce, self.count = index, nonce, 0
        self.headers = {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/json",
            "Accept-Language": "en",
        }

    def call(self, method: str, path: str, body: dict, **headers: str) -> dict:
        # gunicorn's sync workers close the connection after each answer: one per call.
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, json.dumps(body), headers={**self.headers, **headers})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def checkout(self, sku: str = SKU) -> str:
        self.count += 1
        phone = f"+3361{self.nonce % 100:02d}{self.index:01d}{self.count:04d}"
        token = self.call("POST", "/api/v1/carts/", {})["token"]
        self.call("POST", f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 1})
        self.call("POST", f"/api/v1/carts/{token}/identify/", {"phone": phone})
        order = self.call(
            "POST",
            f"/api/v1/carts/{token}/checkout/",
            {"payment_method": "pay_in_store", "shipping_address": ADDRESS},
            **{"Idempotency-Key": str(uuid.uuid4())},
        )
        return order["reference"]


def drive(address: str, seconds: float, nonce: int, first_index: int = 0) -> dict:
    """BUYERS threads, each checking out again and again for ``seconds``."""
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    references: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        buyer = Buyer(address, index, nonce)
        mine, done, failed = [], [], []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                done.append(buyer.checkout())
                mine.append(time.perf_counter() - started)
            except Exception as error:  # reported, not hidden
                failed.append(f"{type(error).__name__}: {error}"[:300])
        with lock:
            latencies.extend(mine)
            references.extend(done)
            errors.extend(failed)

    cpu_before = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(first_index + i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "references": references,
        "errors": errors,
        "elapsed": elapsed,
        "load_generator_cores": (time.process_time() - cpu_before) / elapsed,
    }


class SoldOut(Exception):
    """The checkout answered 409 lines_unavailable: the expected end of a sell-out."""


def sell_out(address: str, nonce: int) -> dict:
    """BUYERS threads checking out SELLOUT_SKU until every one of them is told it is
    gone: exactly SELLOUT orders must succeed, every other attempt a clean 409."""
    orders: list[str] = []
    refusals, errors = [0], []
    lock = threading.Lock()

    def run(index: int) -> None:
        buyer = Buyer(address, index, nonce)
        while True:
            try:
                reference = buyer.checkout(SELLOUT_SKU)
            except RuntimeError as error:
                text = str(error)
                with lock:
                    if ": 409 " in text and "lines_unavailable" in text:
                        refusals[0] += 1
                        return
                    errors.append(text[:300])
                    return
            with lock:
                orders.append(reference)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"orders": orders, "refusals": refusals[0], "errors": errors}


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total / ticks


def server_pids(address: str) -> tuple[list[int], list[int]]:
    """gunicorn's master and workers (their command line names our port), and the
    PostgreSQL backends connected to the bench database."""
    from django.db import connection

    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if address.encode() in cmdline.read():
                    pids.append(int(entry))
        except OSError:
            continue
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return pids, backends


def queries_per_checkout() -> int:
    """One full journey in this process through Django's test client, every statement
    counted (BEGIN, COMMIT and savepoints included)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {KEY}", HTTP_HOST="127.0.0.1")

    def post(path: str, body: dict, **extra) -> dict:
        response = client.post(path, json.dumps(body), content_type="application/json", **extra)
        assert response.status_code < 300, response.content
        return response.json()

    client.get("/api/v1/carts/warm-the-key-cache/")
    phone = f"+3360{random.randint(0, 9_999_999):07d}"
    with CaptureQueriesContext(connection) as queries:
        token = post("/api/v1/carts/", {})["token"]
        post(f"/api/v1/carts/{token}/lines/", {"sku": SKU, "quantity": 1})
        post(f"/api/v1/carts/{token}/identify/", {"phone": phone})
        post(
            f"/api/v1/carts/{token}/checkout/",
            {"payment_method": "pay_in_store", "shipping_address": ADDRESS},
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    return len(queries)


def oversold(variant, warehouse, references: list[str], reserved_before: int) -> dict:
    from django.db.models import Sum

    from inventory.models import Reservation, StockLevel, StockMovement
    from orders.models import OrderLine

    level = StockLevel.objects.get(variant=variant, location=warehouse)
    active = Reservation.objects.filter(variant=variant, location=warehouse, status="active")
    held = active.aggregate(total=Sum("quantity"))["total"] or 0
    ledger = (
        StockMovement.objects.filter(variant=variant, location=warehouse).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )
    ids = [int(reference[2:]) for reference in references]
    ordered = (
        OrderLine.objects.filter(order_id__in=ids, variant=variant).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )
    reserved_now = level.reserved - reserved_before
    return {
        "oversold": max(0, level.reserved - level.on_hand)
        + abs(level.reserved - held)
        + abs(level.on_hand - ledger)
        + abs(ordered - len(references)),
        "reserved_in_run": reserved_now,
    }


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        from inventory.models import StockLevel

        data = prepare()
        nonce = random.randint(0, 999)
        with gunicorn() as address:
            drive(address, WARMUP, nonce, first_index=0)
            reserved_before = StockLevel.objects.get(
                variant=data["variant"], location=data["warehouse"]
            ).reserved
            web_pids, db_pids = server_pids(address)
            web_before, db_before = _cpu_seconds(web_pids), _cpu_seconds(db_pids)
            run = drive(address, SECONDS, (nonce + 1) % 1000, first_index=0)
            web_cpu = _cpu_seconds(web_pids) - web_before
            db_cpu = _cpu_seconds(db_pids) - db_before
            last_before = StockLevel.objects.get(variant=data["last"], location=data["warehouse"])
            sellout = sell_out(address, (nonce + 2) % 1000)
        checks = oversold(data["variant"], data["warehouse"], run["references"], reserved_before)
        last = StockLevel.objects.get(variant=data["last"], location=data["warehouse"])
        sold_out = {
            "sellout_units": SELLOUT,
            "sellout_orders": len(sellout["orders"]),
            "sellout_refusals": sellout["refusals"],
            "sellout_reserved": last.reserved - last_before.reserved,
            "sellout_available_after": last.on_hand - last.reserved,
        }
        queries = queries_per_checkout()
        latencies = run["latencies"]
        figures = {
            "orders_per_s": round(len(run["references"]) / run["elapsed"], 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "queries_per_checkout": queries,
            "oversold": checks["oversold"]
            + max(0, len(sellout["orders"]) - SELLOUT)
            + max(0, sold_out["sellout_reserved"] - SELLOUT),
            "errors": len(run["errors"]) + len(sellout["errors"]),
            **sold_out,
            "orders": len(run["references"]),
            "reserved_in_run": checks["reserved_in_run"],
            "load_generator_cores": round(run["load_generator_cores"], 2),
            # CPU the web workers and their PostgreSQL backends spent per checkout: what
            # a shared machine's noise does not change much.
            "web_cpu_ms_per_checkout": round(web_cpu * 1000 / max(1, len(run["references"])), 1),
            "db_cpu_ms_per_checkout": round(db_cpu * 1000 / max(1, len(run["references"])), 1),
            "server_cores_used": round((web_cpu + db_cpu) / run["elapsed"], 2),
        }
        if run["errors"] or sellout["errors"]:
            print("errors:", (run["errors"] + sellout["errors"])[:5], file=sys.stderr)
        checkout_report(started_at, figures, data["promotions"])


def checkout_report(started_at: str, figures: dict, promotions: int) -> None:
    report(
        "checkout",
        started_at=started_at,
        workload={
            "buyers": BUYERS,
            "seconds": SECONDS,
            "journey": "POST carts, POST lines, POST identify (new phone), "
            "POST checkout (ship, pay_in_store, Idempotency-Key)",
            "hot_variant_stock": STOCK,
            "promotions_active": promotions,
            "sellout": f"then the same buyers on a variant with {SELLOUT} units, until "
            "each is refused",
            "queries_counted": "one journey in-process (test client), all statements",
            "caller": "the channel's secret key (a storefront's back end), through the "
            "permission table; every rate limit on as shipped (cart and identify "
            "counted per key on Redis)",
        },
        figures=figures,
        targets={
            "orders_per_s": ">= 50",
            "p99_ms": "<= 500",
            "queries_per_checkout": "<= 40",
            "oversold": "<= 0",
            "errors": "<= 0",
            "sellout_orders": f"<= {SELLOUT}",
            "sellout_available_after": "<= 0",
        },
    )


if __name__ == "__main__":
    main()
