"""Ceiling 2: a raw conditional UPDATE of one hot stock row, by pgbench, at 1, 8 and 32
connections. This is the most a database can do for "sell one unit of the hottest
variant"; the reservation target of the inventory issue is a ratio of it.
    .venv/bin/python bench/bench_ceiling_update.py    (or: make bench NAMES=ceiling_update)
"""

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import django_setup, now_iso, report, stack

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = [1, 8, 32]
HOT_SKU = "BENCH-HOT-ROW"


def pgbench() -> str:
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / "pgbench"
        if path.exists():
            return str(path)
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench not found (it ships in the pgserver wheel, or install it)")
    return found


def hot_level_id() -> int:
    from catalog.models import Product, Variant
    from inventory.models import Location, StockLevel

    variant = Variant.objects.filter(sku=HOT_SKU).first()
    if variant is None:
        product = Product.objects.create(name="Benchmark hot product")
        variant = Variant.objects.create(product=product, sku=HOT_SKU, price_amount="1.00")
    location, _ = Location.objects.get_or_create(
        code="bench-store", defaults={"name": "Benchmark store", "kind": "store"}
    )
    level, _ = StockLevel.objects.get_or_create(variant=variant, location=location)
    # Plenty of units so the condition always holds: we measure the row lock, not a sell-out.
    StockLevel.objects.filter(pk=level.pk).update(on_hand=2_000_000_000, reserved=0, safety=0)
    return level.pk


def main() -> None:
    started_at = now_iso()
    with stack() as env:
        django_setup()
        level_id = hot_level_id()
        script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)  # noqa: SIM115
        script.write(
            "UPDATE inventory_stocklevel SET on_hand = on_hand - 1, updated_at = now() "
            "WHERE id = :level AND on_hand - reserved - safety >= 1;\n"
        )
        script.close()
        figures = {}
        for clients in CLIENTS:
            result = subprocess.run(
                [
                    pgbench(),
                    "-n",
                    "-f",
                    script.name,
                    "-D",
                    f"level={level_id}",
                    "-c",
                    str(clients),
                    "-j",
                    str(min(clients, os.cpu_count() or 1)),
                    "-T",
                    str(SECONDS),
                    env["DATABASE_URL"],
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
            latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))
            failed = int(re.search(r"number of failed transactions: (\d+)", result.stdout).group(1))
            figures[f"tps_c{clients}"] = round(tps, 1)
            figures[f"latency_avg_ms_c{clients}"] = latency
            figures[f"failed_c{clients}"] = failed
        os.unlink(script.name)
        report(
            "ceiling_update",
            started_at=started_at,
            workload={"rows": 1, "clients": CLIENTS, "seconds_each": SECONDS, "tool": "pgbench"},
            figures=figures,
            targets={f"failed_c{c}": "<= 0" for c in CLIENTS},
        )


if __name__ == "__main__":
    main()
