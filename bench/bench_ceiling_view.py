"""Ceiling 1: a one-query Django view served by gunicorn (persistent DB connections).

Later HTTP targets are read next to this figure, measured in the same run.
    .venv/bin/python bench/bench_ceiling_view.py      (or: make bench NAMES=ceiling_view)
"""

import os

from common import django_setup, gunicorn, load, now_iso, report, stack

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CONCURRENCY = 8


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        with gunicorn() as address:
            figures = load(address, ["/bench/one-query"], concurrency=CONCURRENCY, seconds=SECONDS)
        report(
            "ceiling_view",
            started_at=started_at,
            workload={"concurrency": CONCURRENCY, "seconds": SECONDS, "view": "SELECT 1"},
            figures=figures,
            targets={"errors": "<= 0"},
        )


if __name__ == "__main__":
    main()
