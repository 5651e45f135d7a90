"""Hot-variant reservations: 32 connections reserving the same variant at once.

Each connection calls the real service (`stock_reserve`: a reservation row, a conditional
UPDATE of the one hot stock row, an outbox event, commit, the after-commit relay to
Redis). The same-machine ceiling is pgbench running the bare conditional UPDATE on that
row with 32 clients, in the same run. A second phase gives the variant 1,000 units and
lets the 32 connections race until it is sold out: exactly 1,000 must be reserved.
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
from common import django_setup, now_iso, percentile, report, stack

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
PROCESSES, THREADS = 4, 8
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


def worker(variant_id: int, location_id: int, start_at: float, stop_at: float | None) -> None:
    """One load process: THREADS threads reserving one unit at a time until ``stop_at``
    (or, when None, until the variant is sold out). Prints its figures as JSON."""
    django_setup()
    from django.db import connection

    from inventory.exceptions import InsufficientStock
    from inventory.services.reservations import stock_reserve

    latencies: list[float] = []
    outcome = {"reserved": 0, "refused": 0, "errors": []}
    lock = threading.Lock()

    def run() -> None:
        mine, refused, errors = [], 0, []
        try:
            time.sleep(max(0.0, start_at - time.time()))
            while stop_at is None or time.time() < stop_at:
                began = time.perf_counter()
                try:
                    stock_reserve(variant_id=variant_id, location_id=location_id, quantity=1)
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
    for thread in threads:
        thread.join()
    outcome["latencies"] = latencies
    print(json.dumps(outcome), flush=True)


def race(variant_id: int, location_id: int, seconds: float | None) -> dict:
    """Run PROCESSES load processes and merge what they report."""
    start_at = time.time() + 3  # every process set up before the gun
    stop_at = start_at + seconds if seconds else None
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(variant_id),
                str(location_id),
                str(start_at),
                json.dumps(stop_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for _ in range(PROCESSES)
    ]
    merged = {"reserved": 0, "refused": 0, "errors": [], "latencies": []}
    for process in processes:
        output, _ = process.communicate()
        result = json.loads(output.strip().splitlines()[-1])
        for key in ("reserved", "refused"):
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
        ceiling_tps = ceiling(level_id, env["DATABASE_URL"])
        warm = race(variant_id, location_id, 2)
        prepare("BENCH-RESERVE-HOT", 2_000_000_000)
        cpu_before = os.times()
        hot = race(variant_id, location_id, SECONDS)
        cpu_after = os.times()
        rate = hot["reserved"] / SECONDS

        sold_variant, sold_location, sold_level = prepare("BENCH-RESERVE-SELLOUT", SELL_OUT_UNITS)
        sell_out = race(sold_variant, sold_location, None)
        level = StockLevel.objects.get(pk=sold_level)
        held = Reservation.objects.filter(variant_id=sold_variant, status="active").aggregate(
            total=Sum("quantity")
        )["total"]

        children = (cpu_after.children_user - cpu_before.children_user) + (
            cpu_after.children_system - cpu_before.children_system
        )
        figures = {
            "reservations_per_s": round(rate, 1),
            "ceiling_tps": ceiling_tps,
            "ratio_to_ceiling": round(rate / ceiling_tps, 3),
            "p50_ms": round(percentile(hot["latencies"], 50) * 1000, 2),
            "p99_ms": round(percentile(hot["latencies"], 99) * 1000, 2),
            "errors": len(hot["errors"]) + len(sell_out["errors"]) + len(warm["errors"]),
            "sold_out_reserved": sell_out["reserved"],
            "oversold": max(0, sell_out["reserved"] - SELL_OUT_UNITS)
            + max(0, level.reserved - level.on_hand),
            "reserved_matches_reservations": int(level.reserved == held == sell_out["reserved"]),
            "load_generator_cores": round(children / SECONDS, 2),
        }
        if hot["errors"] or sell_out["errors"]:
            print("errors:", (hot["errors"] + sell_out["errors"])[:5], file=sys.stderr)
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
        worker(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5]))
    else:
        main()
