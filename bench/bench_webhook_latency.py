"""Stock webhooks, end to end: how long after a stock change commits does the channel's
receiver hear about it, at a steady 100 changes per second.

    .venv/bin/python bench/bench_webhook_latency.py [seconds]
    (or: make bench NAMES=webhook_latency)

Environment: BENCH_SECONDS (30, or the first argument), BENCH_RATE (100 changes/s),
BENCH_VARIANTS (200), BENCH_THREADS (4), BENCH_WARMUP (5 s), BENCH_DRAIN_TIMEOUT (60 s).

The stack is the real one: the path measured is commit → outbox relay thread of the
committing process → Redis → real Celery workers, the two that `make run` starts (see
WORKERS; no beat): ``celery -A unicommerce -q worker -l info -c 2 -Q sync,default``, a
prefork pool of 2 running the stock sync (``events.dispatch`` → channel_stock_refresh →
webhooks_publish), and ``… --pool threads -c 8 -Q webhooks,messaging`` running the flush
(``webhooks.flush``) → an HTTP POST to a receiver in this process (a threaded HTTP
server on 127.0.0.1 that checks every signature with
``unicommerce.webhooks.signing.verify`` and answers in one write, with TCP_NODELAY).

Data, fresh for each run: one channel ``bench-webhooks`` fed by one store location, one
endpoint of that channel pointing at the receiver (the endpoints of earlier runs are
deleted first, and this one at the end), and BENCH_VARIANTS new variants with 100 units
each (one ``stock_receive_many``, whose deliveries are awaited before the load starts).
Outbox events that earlier benchmarks left unprocessed are marked processed first.

Load: change number k (k = 0, 1, 2, …) is due at ``start + k / BENCH_RATE`` and touches
variant ``k mod BENCH_VARIANTS``; it is a real service call committed by this process —
``stock_receive`` of 3 units or ``stock_sell`` of 1 unit, alternating for each variant.
BENCH_THREADS threads (each with its own database connection) share the schedule, each
owning a fixed subset of the variants, so the changes of one variant are made one after
the other by one thread, in schedule order. A thread sleeps until the next change of its
own is due and never skips one; if it falls behind, the lag is reported. The first
BENCH_WARMUP seconds of the schedule are the warm-up; the commits due after it, for
BENCH_SECONDS, are measured.

How a delivery is matched to the commits it answers. Coalescing means one delivery
answers several commits, and its ``version`` (ChannelStock's counter) is not known when a
commit returns. But the channel's quantity of a variant is exactly its ``on_hand`` at the
one location that feeds the channel (no reservations, no safety stock), and the
receive-3 / sell-1 alternation makes the ``on_hand`` after each commit of a variant
unique (100 → 103 → 102 → 105 → 104 → …; ``on_hand_after`` is returned by the service).
So each delivered quantity names exactly one commit — the latest one the refresh that
produced it had seen — and that delivery reflects that commit and every earlier commit of
the variant. The latency of a commit is the time from just after its service call
returned to the arrival (body read, signature checked) of the first delivery of the
variant, in arrival order, that reflects it; one clock (``time.monotonic`` of this
process) times both ends. A measured commit that no delivery reflects within
BENCH_DRAIN_TIMEOUT after the last commit is *lost*. Checked on the way: every delivered
quantity names a commit (``unmatched_deliveries``), and ordering deliveries by version
never goes back in the commit sequence (``stale_deliveries``).

Also reported, from the database, where the time goes: ``event_*`` (outbox event written
→ processed by the worker: relay linger, broker, queue, refresh; the events of the
measured window still unprocessed when the figures are taken are counted apart — a
refresh reads the current stock, so a backlog of events delays deliveries less than it
delays its events, but it grows without end), ``flush_late_*`` (a delivery due → its
POST started), ``first_change_to_post_*`` and ``post_*``; and who used the cores over the
measured window: this process (load generator and receiver), the worker (main process
and pool), the PostgreSQL backends of this database, and the whole machine — on a shared
box, ``others_cores`` is everybody else.

The workers' queues on the bench Redis are purged before they start and after they stop:
tasks left there by earlier benchmarks (the reservation bench relays tens of thousands of
events that no worker consumes) would otherwise be worked off first. The workers run
with the bench process's DJANGO_SETTINGS_MODULE (bench.settings by default).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from itertools import pairwise

from common import django_setup, now_iso, percentile, report, stack
from webhook_rig import (
    INITIAL_ON_HAND,
    WORKERS_DESCRIBED,
    Commit,
    CpuMeter,
    Receipt,
    Receiver,
    Shop,
    active_channels,
    bench_environment,
    rig_start,
    stage_figures,
    stock_change,
    stop_on_sigterm,
    wait_for,
)

RATE = float(os.environ.get("BENCH_RATE", "100"))
VARIANTS = int(os.environ.get("BENCH_VARIANTS", "200"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "60"))


def seconds_argument(default: str = "30") -> float:
    if len(sys.argv) > 1:
        return float(sys.argv[1])
    return float(os.environ.get("BENCH_SECONDS", default))


# --------------------------------------------------------------------------- load


def drive(
    shop: Shop, *, rate: float, start: float, stop: float, hold: threading.Event | None = None
) -> tuple[list[Commit], list[str]]:
    """Run the schedule from ``start`` to ``stop`` (monotonic) on THREADS threads, which
    keep their database connections until ``hold`` is set (the last CPU sample)."""
    from django.db import connection

    count = len(shop.variant_ids)
    total = int((stop - start) * rate)
    commits: list[Commit] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        mine: list[Commit] = []
        failures: list[str] = []
        try:
            with connection.cursor() as cursor:  # this thread's connection, opened early
                cursor.execute("SELECT 1")
            for k in range(total):
                variant = k % count
                if variant % THREADS != thread:
                    continue
                due = start + k / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                step = k // count
                try:
                    after = stock_change(
                        variant_id=shop.variant_ids[variant],
                        location_id=shop.location_id,
                        step=step,
                    )
                except Exception as error:  # reported, and counted against the run
                    failures.append(f"{type(error).__name__}: {error}"[:200])
                    continue
                mine.append(Commit(variant, step, after, due, time.monotonic()))
        finally:
            if hold is not None:
                hold.wait(30)
            connection.close()
            with lock:
                commits.extend(mine)
                errors.extend(failures)

    threads = [threading.Thread(target=run, args=(t,), name=f"load-{t}") for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return commits, errors


def latencies(
    commits: list[Commit], receipts: list[Receipt], skus: list[str], initial: int
) -> tuple[dict[tuple[int, int], float], int, int]:
    """Per commit (variant, step), seconds until the first delivery that reflects it;
    plus the deliveries whose quantity names no commit, and those older (by state) than
    a lower version of the same variant."""
    by_variant: dict[int, list[Commit]] = {}
    for commit in commits:
        by_variant.setdefault(commit.variant, []).append(commit)
    receipts_by_sku: dict[str, list[Receipt]] = {}
    for receipt in receipts:
        receipts_by_sku.setdefault(receipt.sku, []).append(receipt)
    answered: dict[tuple[int, int], float] = {}
    unmatched = stale = 0
    for variant, sku in enumerate(skus):
        mine = sorted(by_variant.get(variant, []), key=lambda c: c.step)
        step_of = {initial: -1} | {c.on_hand_after: c.step for c in mine}
        arrivals = []
        for receipt in receipts_by_sku.get(sku, []):
            step = step_of.get(receipt.quantity)
            if step is None:
                unmatched += 1
                continue
            arrivals.append((receipt, step))
        by_version = sorted(arrivals, key=lambda pair: pair[0].version)
        stale += sum(1 for a, b in pairwise(by_version) if b[1] < a[1])
        pending = 0
        reached = -1
        for receipt, step in sorted(arrivals, key=lambda pair: pair[0].arrived):
            reached = max(reached, step)
            while pending < len(mine) and mine[pending].step <= reached:
                commit = mine[pending]
                answered[(variant, commit.step)] = receipt.arrived - commit.committed
                pending += 1
    return answered, unmatched, stale


# --------------------------------------------------------------------------- main


@dataclass
class SteadyRun:
    """The changes of one steady run, and the CPU samples at the measured window's ends."""

    commits: list[Commit]
    errors: list[str]
    samples: dict[str, dict[str, float]]
    measure_from: float  # monotonic
    stop: float  # monotonic
    wall_offset: float  # time.time() - time.monotonic()


def steady_run(shop: Shop, workers: list[subprocess.Popen], seconds: float) -> SteadyRun:
    """The schedule at RATE: WARMUP seconds, then ``seconds`` measured, with a CPU sample
    at each end of the measured window (the load threads hold their connections until
    the last one)."""
    start = time.monotonic() + 0.5
    measure_from = start + WARMUP
    stop = measure_from + seconds
    wall_offset = time.time() - time.monotonic()
    meter = CpuMeter([worker.pid for worker in workers])
    samples: dict[str, dict[str, float]] = {}

    def sample_at(at: float, name: str) -> None:
        time.sleep(max(0.0, at - time.monotonic()))
        samples[name] = meter.sample()

    def sampler_run() -> None:
        from django.db import connection

        try:
            sample_at(measure_from, "from")
            sample_at(stop, "to")
        finally:
            hold.set()
            connection.close()

    hold = threading.Event()
    sampler = threading.Thread(target=sampler_run, name="sampler")
    sampler.start()
    commits, errors = drive(shop, rate=RATE, start=start, stop=stop, hold=hold)
    sampler.join()
    return SteadyRun(commits, errors, samples, measure_from, stop, wall_offset)


def final_quantities(commits: list[Commit]) -> dict[int, tuple[int, int]]:
    """Per variant index, its last step and the ``on_hand`` after it."""
    final: dict[int, tuple[int, int]] = {}
    for commit in commits:
        if commit.step >= final.get(commit.variant, (-1, 0))[0]:
            final[commit.variant] = (commit.step, commit.on_hand_after)
    return final


def steady_figures(
    run: SteadyRun, receipts: list[Receipt], shop: Shop, receiver: Receiver, seconds: float
) -> dict:
    """The latencies of the measured commits, and what went wrong on the way."""
    measured = [c for c in run.commits if c.due >= run.measure_from]
    answered, unmatched, stale = latencies(run.commits, receipts, shop.skus, INITIAL_ON_HAND)
    values = [answered[(c.variant, c.step)] for c in measured if (c.variant, c.step) in answered]
    lost = len(measured) - len(values)
    lag = [c.committed - c.due for c in measured]
    stages = stage_figures(shop, run.measure_from + run.wall_offset, run.stop + run.wall_offset)
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "min_ms": round(min(values) * 1000, 1) if values else float("nan"),
        "changes": len(measured),
        "changes_per_s": round(len(measured) / seconds, 1),
        "deliveries": sum(1 for r in receipts if r.arrived >= run.measure_from),
        "lost": lost,
        "errors": len(run.errors),
        "unmatched_deliveries": unmatched,
        "stale_deliveries": stale,
        "refused_signatures": receiver.refused,
        "schedule_lag_p99_ms": round(percentile(lag, 99) * 1000, 1),
        **stages,
    }


def wrong_final_quantities(shop: Shop, final: dict[int, tuple[int, int]]) -> int:
    """Variants whose channel figure in the database is not their last ``on_hand``."""
    from inventory.models import ChannelStock

    channel_figures = dict(
        ChannelStock.objects.filter(
            channel_id=shop.channel_id, variant_id__in=shop.variant_ids
        ).values_list("variant_id", "quantity")
    )
    return sum(
        1
        for i, variant_id in enumerate(shop.variant_ids)
        if channel_figures.get(variant_id) != final.get(i, (0, INITIAL_ON_HAND))[1]
    )


def steady_workload(seconds: float, window: float, loadavg_before: float) -> dict:
    return {
        "seconds": seconds,
        "warmup_seconds": WARMUP,
        "rate_per_s": RATE,
        "variants": VARIANTS,
        "initial_on_hand": INITIAL_ON_HAND,
        "load_threads": THREADS,
        "active_channels": active_channels(),
        "coalesce_seconds": window,
        "machine_loadavg_1m_before": loadavg_before,
        "change": "stock_receive 3 / stock_sell 1, alternating per variant",
        "workers": WORKERS_DESCRIBED,
        "receiver": "threaded http.server in the bench process, signature verified",
    }


def main() -> None:
    seconds = seconds_argument()
    started_at = now_iso()
    stop_on_sigterm()
    bench_environment()
    loadavg_before = round(os.getloadavg()[0], 2)
    with stack() as env, contextlib.ExitStack() as cleanup:
        django_setup()
        from django.conf import settings

        from inventory.services.stock import stock_receive_many

        window = float(settings.WEBHOOK_COALESCE_SECONDS)
        rig = rig_start(env, cleanup, tag="WHL", count=VARIANTS)
        receiver, shop = rig.receiver, rig.shop

        stock_receive_many(
            entries=[(v, shop.location_id, INITIAL_ON_HAND) for v in shop.variant_ids]
        )
        wait_for(
            lambda: len(receiver.latest()) == VARIANTS,
            timeout=60,
            what="the first figure of every variant at the receiver",
        )
        run = steady_run(shop, rig.workers, seconds)
        last_commit = max(c.committed for c in run.commits)
        final = final_quantities(run.commits)
        with contextlib.suppress(SystemExit):
            wait_for(
                lambda: all(
                    (got := receiver.latest().get(sku)) is not None
                    and got.quantity == final.get(i, (0, INITIAL_ON_HAND))[1]
                    for i, sku in enumerate(shop.skus)
                ),
                timeout=DRAIN_TIMEOUT,
                what="the last figure of every variant",
            )
        drained_after = time.monotonic() - last_commit
        receipts = receiver.snapshot()
        figures = {
            **steady_figures(run, receipts, shop, receiver, seconds),
            "drained_s_after_last_commit": round(drained_after, 2),
            **CpuMeter.cores(run.samples["from"], run.samples["to"]),
        }
        figures["wrong_final_quantities"] = wrong_final_quantities(shop, final)
        if run.errors:
            print("errors:", run.errors[:5], file=sys.stderr)
        workload = steady_workload(seconds, window, loadavg_before)
        cleanup.close()  # worker and receiver stopped, endpoint deleted, before reporting
        report(
            "webhook_latency",
            started_at=started_at,
            workload=workload,
            figures=figures,
            targets={"p99_ms": "<= 1000", "lost": "<= 0", "errors": "<= 0"},
        )


if __name__ == "__main__":
    main()
