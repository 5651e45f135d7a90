"""Payment links by SMS, end to end: how long after a payment link is created (its
transaction committed) does the SMS backend get the message, at a steady rate.

    .venv/bin/python bench/bench_payment_link_sms.py
    (or: make bench NAMES=payment_link_sms)

Environment: BENCH_LINKS (200 measured), BENCH_WARMUP_LINKS (20), BENCH_RATE (10 links/s),
BENCH_DRAIN_TIMEOUT (60 s).

The stack is the real one: ``payments.services.links.payment_link_create`` (the service the POS,
the admin and the API call) in this process, one link per order, committed; its SMS is
queued in the same transaction and enqueued after commit; the dev stack's real Celery
workers (``unicommerce.devstack.CELERY_WORKERS``, as ``make run`` starts them: the
``messaging`` queue is served by the threads pool of 8) run ``messaging.send`` with the
**file SMS backend** (``SMS_BACKEND=unicommerce.messaging.backends.FileBackend``, in a
temporary directory), which writes one JSON line per message with the time it was
called (``at``, the worker's clock).

Latency of a link = ``at`` of its message's line − the wall-clock time of its commit (the
first after-commit callback of the transaction, which runs before the SMS task is
enqueued) in this process; one machine, one clock.
A link whose line has not appeared BENCH_DRAIN_TIMEOUT after the last one is *lost*.

Data, fresh for each run: a channel ``bench-links`` and BENCH_WARMUP_LINKS + BENCH_LINKS
orders of 30.00 EUR on it, each with a distinct French mobile number. The first
BENCH_WARMUP_LINKS links are the warm-up and are not measured. The workers' queues are
purged before they start and after they stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common import django_setup, now_iso, percentile, report, stack

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
from webhook_rig import (
    WORKERS_DESCRIBED,
    CpuMeter,
    celery_workers,
    stop_on_sigterm,
)

LINKS = int(os.environ.get("BENCH_LINKS", "200"))
WARMUP_LINKS = int(os.environ.get("BENCH_WARMUP_LINKS", "20"))
RATE = float(os.environ.get("BENCH_RATE", "10"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "60"))
CHANNEL_CODE = "bench-links"


def orders_prepare(count: int) -> list:
    from decimal import Decimal

    from orders.models import Order
    from unicommerce.channels.models import SalesChannel

    channel, _ = SalesChannel.objects.update_or_create(
        code=CHANNEL_CODE, defaults={"name": "Benchmark links", "kind": "web", "is_active": True}
    )
    return [
        Order.objects.create(
            channel=channel,
            status=Order.Status.PLACED,
            currency="EUR",
            total_amount=Decimal("30.00"),
        )
        for _ in range(count)
    ]


def sms_read(path: Path) -> dict[int, float]:
    """Message id → wall-clock time (epoch seconds) the backend was called."""
    if not path.exists():
        return {}
    calls = {}
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError):
            document = json.loads(line)
            calls[document["id"]] = datetime.fromisoformat(document["at"]).timestamp()
    return calls


@dataclass
class LinkRun:
    committed: dict[int, float]  # message id -> wall clock after the commit
    measured: list[int]
    errors: list[str]
    lag: list[float]
    sample_from: dict[str, float] | None
    sample_to: dict[str, float]


def links_create(orders: list, meter: CpuMeter) -> LinkRun:
    """Link k created at ``start + k / RATE``, each committed in its own transaction; a CPU
    sample when the first measured one is due and one after the last."""
    from django.db import transaction

    from payments.services.links import payment_link_create

    run = LinkRun({}, [], [], [], None, {})
    start = time.monotonic() + 0.5
    for k, order in enumerate(orders):
        due = start + k / RATE
        time.sleep(max(0.0, due - time.monotonic()))
        if k == WARMUP_LINKS:
            run.sample_from = meter.sample()
        commit_at: list[float] = []
        try:
            # The service's own transaction, inside this one: the commit is this
            # block's; the first after-commit callback (before the SMS task is
            # enqueued) stamps it.
            with transaction.atomic():
                transaction.on_commit(lambda at=commit_at: at.append(time.time()))
                link, _token = payment_link_create(
                    order=order, phone=f"+3361{k:07d}", language="fr"
                )
        except Exception as error:  # reported, and counted against the run
            run.errors.append(f"{type(error).__name__}: {error}"[:200])
            continue
        run.committed[link.message_id] = commit_at[0]
        run.lag.append(time.monotonic() - due)
        if k >= WARMUP_LINKS:
            run.measured.append(link.message_id)
    run.sample_to = meter.sample()
    return run


def link_figures(run: LinkRun, sms_file: Path) -> dict:
    """Wait (DRAIN_TIMEOUT at most) for every link's SMS at the backend, then the time
    from each measured link's commit to its SMS."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    calls = sms_read(sms_file)
    while time.monotonic() < deadline and not all(m in calls for m in run.committed):
        time.sleep(0.1)
        calls = sms_read(sms_file)
    values = [calls[m] - run.committed[m] for m in run.measured if m in calls]
    lines = sms_file.read_text().splitlines() if sms_file.exists() else []
    duplicates = len(lines) - len(calls)
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "min_ms": round(min(values) * 1000, 1) if values else float("nan"),
        "links": len(run.measured),
        "lost": len(run.measured) - len(values),
        "sent_twice": duplicates,
        "errors": len(run.errors),
        "schedule_lag_p99_ms": round(percentile(run.lag, 99) * 1000, 1),
        **CpuMeter.cores(run.sample_from, run.sample_to),
    }


def main() -> None:
    started_at = now_iso()
    stop_on_sigterm()
    loadavg_before = round(os.getloadavg()[0], 2)
    directory = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    # Read by the settings of this process and of the workers (they inherit os.environ).
    os.environ["SMS_BACKEND"] = "unicommerce.messaging.backends.FileBackend"
    os.environ["SMS_FILE_PATH"] = str(directory)
    sms_file = directory / "sms.jsonl"
    with stack() as env, contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        django_setup()

        from unicommerce.celery import app

        orders = orders_prepare(WARMUP_LINKS + LINKS)
        workers = cleanup.enter_context(celery_workers(env))
        app.producer_pool.acquire(block=True).release()  # this process's broker connection
        meter = CpuMeter([worker.pid for worker in workers])
        run = links_create(orders, meter)
        figures = link_figures(run, sms_file)
        workload = {
            "links": LINKS,
            "warmup_links": WARMUP_LINKS,
            "rate_per_s": RATE,
            "machine_loadavg_1m_before": loadavg_before,
            "create": (
                "payments.services.links.payment_link_create in the bench process, one order each"
            ),
            "sms_backend": "unicommerce.messaging.backends.FileBackend (time of the call)",
            "workers": WORKERS_DESCRIBED,
            "note": "shared machine: figures drift with other people's load",
        }
        if run.errors:
            print("errors:", run.errors[:5])
        cleanup.close()  # workers stopped, queues purged, before reporting
        report(
            "payment_link_sms",
            started_at=started_at,
            workload=workload,
            figures=figures,
            targets={"p99_ms": "<= 2000", "lost": "<= 0", "errors": "<= 0", "sent_twice": "<= 0"},
        )


if __name__ == "__main__":
    main()
