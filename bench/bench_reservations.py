"""Hot-variant reservations: 32 connections reserving the same variant at once.

Each connection calls the real service (`stock_reserve`: a reservation row, its outbox
event and the conditional UPDATE of the one hot stock row in one statement, the commit,
the after-commit relay to Redis). Two same-machine ceilings are measured in the same run
on the same row with 32 connections:
  * the bare conditional UPDATE sent by the same Python client harness (same processes,
    threads and driver): the target is a ratio of this one, so what is measured is what
    the service adds over the statement, not the cost of Python itself;
  * the same statement sent by pgbench (a C client), reported for reference: on this
    2-core machine the Python client and PostgreSQL share the CPU.
A second phase gives a variant 1,000 units and lets the 32 connections race until it is
sold out: exactly 1,000 must be reserved, none oversold.
    .venv/bin/python bench/bench_reservations.py      (or: make bench NAMES=reservations)

The load runs in 4 processes × 8 threads (one database connection per thread).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from bench_ceiling_update import pgbench
from common import django_setup, now_iso, percentile, relay_warm, report, stack

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
PROCESSES, THREADS = (
    int(os.environ.get("BENCH_PROCESSES", "4")),
    int(os.environ.get("BENCH_THREADS", "8")),
)
CONNECTIONS = PROCESSES * THREADS
SELL_OUT_UNITS = 1000


def prepare(sku: str, on_hand: int) -> tuple[int, int, int]:
    """A variant with ``on_hand`` units at the bench store and nothing reserved."""
    from django.db import transaction

    from catalog.models import Product, Variant
    from inventory.models import Location, Reservation, StockLevel

    location, _ = Location.objects.get_or_create(
        code="bench-store", defaults={"name": "Benchmark store", "kind": "store"}
    )
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        product = Product.objects.create(name=f"Benchmark {sku}")
        variant = Variant.objects.create(product=product, sku=sku, price_amount="1.00")
    with transaction.atomic():
        Reservation.objects.filter(variant=variant).delete()
        level, _ = StockLevel.objects.get_or_create(variant=variant, location=location)
        StockLevel.objects.filter(pk=level.pk).update(on_hand=on_hand, reserved=0, safety=0)
    return variant.pk, location.pk, level.pk


def ceiling(level_id: int, database_url: str) -> float:
    """pgbench: the bare conditional UPDATE that reserves one unit, 32 clients."""
    from inventory.models import StockLevel

    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(
            "UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now() "
            "WHERE id = :level AND on_hand - reserved - safety >= 1;\n"
        )
    result = subprocess.run(
        [
            pgbench(),
            "-n",
            "-f",
            script.name,
            "-D",
            f"level={level_id}",
            "-c",
            str(CONNECTIONS),
            "-j",
            str(os.cpu_count() or 1),
            "-T",
            str(int(SECONDS)),
            database_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    StockLevel.objects.filter(pk=level_id).update(reserved=0)
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


RAW_UPDATE = (
    "UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now() "
    "WHERE variant_id = %s AND location_id = %s AND on_hand - reserved - safety >= 1"
)


def _reserve_function(mode: str):
    """The service (mode "service") or the bare conditional UPDATE (mode "raw"), called
    alike."""
    from django.db import connection

    from inventory.exceptions import InsufficientStock
    from inventory.services.reservations import stock_reserve

    def raw_reserve(*, variant_id: int, location_id: int, quantity: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(RAW_UPDATE, [variant_id, location_id])
            if cursor.rowcount != 1:
                raise InsufficientStock(sku="", location="", requested=1, available=0)

    return stock_reserve if mode == "service" else raw_reserve


def worker(
    variant_id: int, location_id: int, start_at: float, stop_at: float | None, mode: str
) -> None:
    """One load process: THREADS threads reserving one unit at a time until ``stop_at``
    (or, when None, until the variant is sold out), with the service (mode "service")
    or the bare statement (mode "raw"). Prints its figures as JSON."""
    django_setup()
    from django.db import connection

    from inventory.exceptions import InsufficientStock

    reserve = _reserve_function(mode)
    # Warm the process before the gun: the broker connection of the outbox relay (whose
    # first use imports kombu's Redis transport) must not be paid inside the measure.
    relay_warm()

    latencies: list[float] = []
    outcome = {"reserved": 0, "refused": 0, "errors": []}
    lock = threading.Lock()

    def run() -> None:
        mine, refused, errors = [], 0, []
        try:
            with connection.cursor() as cursor:  # this thread's connection, opened early
                cursor.execute("SELECT 1")
            time.sleep(max(0.0, start_at - time.time()))
            while stop_at is None or time.time() < stop_at:
                began = time.perf_counter()
                try:
                    reserve(variant_id=variant_id, location_id=location_id, quantity=1)
                    mine.append(time.perf_counter() - began)
                except InsufficientStock:
                    refused += 1
                    if stop_at is None:
                        break
                except Exception as error:  # anything else is a failure we report
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                    break
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                outcome["reserved"] += len(mine)
                outcome["refused"] += refused
                outcome["errors"].extend(errors)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_started = time.process_time()
    for thread in threads:
        thread.join()
    outcome["cpu_seconds"] = time.process_time() - cpu_started
    outcome["latencies"] = latencies
    print(json.dumps(outcome), flush=True)


def race(variant_id: int, location_id: int, seconds: float | None, mode: str = "service") -> dict:
    """Run PROCESSES load processes and merge what they report."""
    start_at = time.time() + 3 + 0.3 * PROCESSES  # every process set up before the gun
    stop_at = start_at + seconds if seconds else None
    processes = [
        subprocess.Popen(
            [
                *[sys.executable, __file__, "--worker", str(variant_id), str(location_id)],
                *[str(start_at), json.dumps(stop_at), mode],
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for _ in range(PROCESSES)
    ]
    merged = {"reserved": 0, "refused": 0, "errors": [], "latencies": [], "cpu_seconds": 0.0}
    for process in processes:
        output, _ = process.communicate()
        result = json.loads(output.strip().splitlines()[-1])
        for key in ("reserved", "refused", "cpu_seconds"):
            merged[key] += result[key]
        merged["errors"] += result["errors"]
        merged["latencies"] += result["latencies"]
    return merged


def main() -> None:
    started_at = now_iso()
    with stack() as env:
        django_setup()
        from django.db.models import Sum

        from inventory.models import Reservation, StockLevel

        variant_id, location_id, level_id = prepare("BENCH-RESERVE-HOT", 2_000_000_000)
        pgbench_tps = ceiling(level_id, env["DATABASE_URL"])
        raw = race(variant_id, location_id, SECONDS, mode="raw")
        raw_rate = raw["reserved"] / SECONDS
        warm = race(variant_id, location_id, 2)
        prepare("BENCH-RESERVE-HOT", 2_000_000_000)
        hot = race(variant_id, location_id, SECONDS)
        rate = hot["reserved"] / SECONDS

        sold_variant, sold_location, sold_level = prepare("BENCH-RESERVE-SELLOUT", SELL_OUT_UNITS)
        sell_out = race(sold_variant, sold_location, None)
        level = StockLevel.objects.get(pk=sold_level)
        held = Reservation.objects.filter(variant_id=sold_variant, status="active").aggregate(
            total=Sum("quantity")
        )["total"]

        figures = {
            "reservations_per_s": round(rate, 1),
            "ceiling_raw_update_per_s": round(raw_rate, 1),
            "ratio_to_ceiling": _ratio(rate, raw_rate),
            "pgbench_tps": round(pgbench_tps, 1),
            "ratio_to_pgbench": round(rate / pgbench_tps, 3),
            "p50_ms": round(percentile(hot["latencies"], 50) * 1000, 2),
            "p99_ms": round(percentile(hot["latencies"], 99) * 1000, 2),
            "errors": len(raw["errors"] + warm["errors"] + hot["errors"] + sell_out["errors"]),
            "sold_out_reserved": sell_out["reserved"],
            "oversold": max(0, sell_out["reserved"] - SELL_OUT_UNITS)
            + max(0, level.reserved - level.on_hand),
            "reserved_matches_reservations": int(level.reserved == held == sell_out["reserved"]),
            "load_generator_cores": round(hot["cpu_seconds"] / SECONDS, 2),
            "client_cpu_ms_per_reservation": _ratio(hot["cpu_seconds"] * 1000, hot["reserved"], 2),
            "client_cpu_ms_per_raw_update": _ratio(raw["cpu_seconds"] * 1000, raw["reserved"], 2),
        }
        every_error = raw["errors"] + warm["errors"] + hot["errors"] + sell_out["errors"]
        if every_error:
            print("errors:", every_error[:5], file=sys.stderr)
        reservations_report(started_at, figures)


def _ratio(part: float, whole: float, digits: int = 3) -> float | None:
    """part / whole, or None when nothing was measured (a run whose every worker failed
    reports its errors instead of dividing by zero)."""
    return round(part / whole, digits) if whole else None


def reservations_report(started_at: str, figures: dict) -> None:
    report(
        "reservations",
        started_at=started_at,
        workload={
            "connections": CONNECTIONS,
            "processes": PROCESSES,
            "seconds": SECONDS,
            "sell_out_units": SELL_OUT_UNITS,
            "path": "stock_reserve (row + conditional UPDATE + outbox + relay)",
        },
        figures=figures,
        targets={
            "ratio_to_ceiling": ">= 0.5",
            "oversold": "<= 0",
            "errors": "<= 0",
            "sold_out_reserved": f">= {SELL_OUT_UNITS}",
            "reserved_matches_reservations": ">= 1",
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(
            int(sys.argv[2]),
            int(sys.argv[3]),
            float(sys.argv[4]),
            json.loads(sys.argv[5]),
            sys.argv[6],
        )
    else:
        main()
