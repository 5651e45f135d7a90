"""Stock webhooks under a burst (a flash sale): 10,000 stock changes on 100 variants,
committed as fast as this process can, must reach the channel coalesced — at most one
delivery per variant per coalescing window — and end with the right quantities.

    .venv/bin/python bench/bench_webhook_burst.py      (or: make bench NAMES=webhook_burst)

Environment: BENCH_CHANGES (10,000), BENCH_VARIANTS (100), BENCH_THREADS (4),
BENCH_DRAIN_TIMEOUT (300 s: how long to wait for the last figures, then for the worker to
work off its backlog).

The stack is the one of bench_webhook_latency.py (see there): commits of this process →
outbox relay → Redis → the dev stack's two Celery workers (stock sync on a prefork pool
of 2, webhooks on a threads pool of 8; no beat) → signed POSTs to a receiver in this
process that checks every signature.

Data, fresh for each run: the ``bench-webhooks`` channel and its store location, a new
endpoint at the receiver (earlier ones deleted, this one at the end), BENCH_VARIANTS new
variants. Warm-up: each load thread receives 100 units of each of its variants, one
``stock_receive`` each (its database connection, this process's relay and the worker's
whole path are then warm), and the first figure of every variant is awaited at the
receiver. Then the burst: BENCH_THREADS threads, each owning an equal share of the
variants, go round their variants BENCH_CHANGES / BENCH_VARIANTS times with no pause,
alternating ``stock_receive`` of 3 units and ``stock_sell`` of 1 unit per variant: each
variant ends at 100 + 50 × 3 − 50 × 1 = 200 units (the expected figure is summed from
the changes that committed).

Figures:
  * ``max_deliveries_per_variant_per_window``: for each variant, a window as long as
    WEBHOOK_COALESCE_SECONDS slid over the arrival times of its deliveries (all of them,
    the warm-up's included); the most deliveries ever inside one window, over all
    variants. ``deliveries_closer_than_window`` counts the pairs of successive deliveries
    of one variant less than a window apart.
  * ``wrong_final_quantities``: variants for which the receiver's figure of the highest
    version, ChannelStock's quantity and the expected arithmetic do not all agree.
  * ``last_delivery_s_after_last_commit``: from the last commit of the burst to the arrival
    of the last delivery; ``total_seconds`` from the first commit of the burst to it;
    ``commits_per_s`` over the burst itself.
  * ``events_drained_s_after_last_commit``: until every outbox event of the burst has been
    processed by the worker (a refresh reads the current stock, so the last figures can
    arrive before the backlog of events is worked off); ``events_unprocessed_at_end`` if
    the drain timed out.
  * cores used from the first commit of the burst to the end of the drain (see
    bench_webhook_latency.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise

from common import django_setup, now_iso, report, stack
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

CHANGES = int(os.environ.get("BENCH_CHANGES", "10000"))
VARIANTS = int(os.environ.get("BENCH_VARIANTS", "100"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "300"))


class Burst:
    """THREADS load threads, each owning every THREADS-th variant: the warm-up receipt of
    each of its variants, then — once every thread is warm and the main thread has seen
    the first figures (``go``) — ``rounds`` changes of each, flat out. Each keeps its
    database connection until ``release`` (the last CPU sample)."""

    def __init__(self, shop: Shop, *, rounds: int) -> None:
        self.shop = shop
        self.rounds = rounds
        self.commits: list[Commit] = []
        self.errors: list[str] = []
        self.started: float | None = None
        self._lock = threading.Lock()
        self._warm = threading.Barrier(THREADS + 1)
        self._go = threading.Event()
        self._done = threading.Semaphore(0)
        self._release = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(t,), name=f"burst-{t}") for t in range(THREADS)
        ]

    def warm_up(self) -> None:
        for thread in self._threads:
            thread.start()
        self._warm.wait(300)

    def run(self) -> None:
        self._go.set()
        for _ in self._threads:
            self._done.acquire()

    def release(self) -> None:
        self._release.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, thread: int) -> None:
        from django.db import connection

        from inventory.services.stock import stock_receive

        shop = self.shop
        owned = [i for i in range(len(shop.variant_ids)) if i % THREADS == thread]
        mine: list[Commit] = []
        failures: list[str] = []
        try:
            for variant in owned:
                stock_receive(
                    variant_id=shop.variant_ids[variant],
                    location_id=shop.location_id,
                    quantity=INITIAL_ON_HAND,
                )
            self._warm.wait(300)
            self._go.wait()
            with self._lock:
                self.started = self.started or time.monotonic()
            for step in range(self.rounds):
                for variant in owned:
                    began = time.monotonic()
                    try:
                        after = stock_change(
                            variant_id=shop.variant_ids[variant],
                            location_id=shop.location_id,
                            step=step,
                        )
                    except Exception as error:  # reported, and counted against the run
                        failures.append(f"{type(error).__name__}: {error}"[:200])
                        continue
                    mine.append(Commit(variant, step, after, began, time.monotonic()))
        finally:
            with self._lock:
                self.commits.extend(mine)
                self.errors.extend(failures)
            self._done.release()
            self._release.wait(DRAIN_TIMEOUT * 3 + 300)
            connection.close()


def window_counts(arrivals: list[float], window: float) -> tuple[int, int]:
    """The most arrivals inside any window of ``window`` seconds, and how many successive
    pairs are closer than ``window``."""
    ordered = sorted(arrivals)
    most = 0
    first = 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    close = sum(1 for a, b in pairwise(ordered) if b - a < window)
    return most, close


def expected_quantities(commits: list[Commit]) -> dict[int, int]:
    """Per variant index, the ``on_hand`` its changes lead to from INITIAL_ON_HAND."""
    expected = dict.fromkeys(range(VARIANTS), INITIAL_ON_HAND)
    for commit in commits:
        expected[commit.variant] += 3 if commit.step % 2 == 0 else -1
    return expected


def burst_drain(
    receiver: Receiver, shop: Shop, expected: dict[int, int], *, since: datetime, last_commit: float
) -> float:
    """Wait for the last figure of every variant at the receiver, for the worker to
    process every event of the burst (``since``), and for the last deliveries; returns
    how long after the last commit the events were drained (NaN: they were not)."""
    from unicommerce.events.models import OutboxEvent
    from unicommerce.webhooks.models import WebhookDelivery

    with contextlib.suppress(SystemExit):
        wait_for(
            lambda: all(
                (got := receiver.latest().get(sku)) is not None and got.quantity == expected[i]
                for i, sku in enumerate(shop.skus)
            ),
            timeout=DRAIN_TIMEOUT,
            what="the last figure of every variant",
        )
    burst_events = OutboxEvent.objects.filter(topic="stock.changed", created_at__gte=since)
    events_drained = float("nan")
    with contextlib.suppress(SystemExit):
        wait_for(
            lambda: not burst_events.filter(processed_at__isnull=True).exists(),
            timeout=DRAIN_TIMEOUT,
            what="the worker to process every event of the burst",
        )
        events_drained = time.monotonic() - last_commit
    with contextlib.suppress(SystemExit):
        wait_for(
            lambda: (
                not WebhookDelivery.objects.filter(
                    endpoint_id=shop.endpoint_id, status__in=["pending", "sending"]
                ).exists()
            ),
            timeout=30,
            what="the last deliveries",
        )
    return events_drained


def arrival_checks(
    receipts: list[Receipt], receiver: Receiver, shop: Shop, expected: dict[int, int]
) -> tuple[int, int]:
    """The variants whose last figure (at the receiver, in the database) is not the
    expected one, and the arrivals of a lower version than one already arrived."""
    from inventory.models import ChannelStock

    latest = receiver.latest()
    figures_db = {
        variant_id: (quantity, version)
        for variant_id, quantity, version in ChannelStock.objects.filter(
            channel_id=shop.channel_id, variant_id__in=shop.variant_ids
        ).values_list("variant_id", "quantity", "version")
    }
    wrong = 0
    for i, (variant_id, sku) in enumerate(zip(shop.variant_ids, shop.skus, strict=True)):
        got = latest.get(sku)
        stored = figures_db.get(variant_id)
        if (
            got is None
            or stored is None
            or not got.quantity == stored[0] == expected[i]
            or got.version != stored[1]
        ):
            wrong += 1
    out_of_order = 0
    for sku in shop.skus:
        seen = -1
        for receipt in sorted((r for r in receipts if r.sku == sku), key=lambda r: r.arrived):
            if receipt.version < seen:
                out_of_order += 1
            seen = max(seen, receipt.version)
    return wrong, out_of_order


def burst_figures(
    load: Burst,
    receiver: Receiver,
    shop: Shop,
    expected: dict[int, int],
    *,
    window: float,
    burst_started: float,
    last_commit: float,
    events_drained: float,
    wall_offset: float,
) -> dict:
    receipts = receiver.snapshot()
    by_sku: dict[str, list[float]] = {}
    for receipt in receipts:
        by_sku.setdefault(receipt.sku, []).append(receipt.arrived)
    counts = [window_counts(by_sku.get(sku, []), window) for sku in shop.skus]
    wrong, out_of_order = arrival_checks(receipts, receiver, shop, expected)
    burst_receipts = [r for r in receipts if r.arrived >= burst_started]
    last_delivery = max(r.arrived for r in receipts)
    commit_seconds = last_commit - burst_started
    stages = stage_figures(shop, burst_started + wall_offset - 0.01, time.time() + 1)
    return {
        "changes": len(load.commits),
        "errors": len(load.errors),
        "commit_seconds": round(commit_seconds, 2),
        "commits_per_s": round(len(load.commits) / commit_seconds, 1),
        "deliveries": len(burst_receipts),
        "changes_per_delivery": round(len(load.commits) / max(len(burst_receipts), 1), 1),
        "max_deliveries_per_variant_per_window": max(most for most, _ in counts),
        "deliveries_closer_than_window": sum(close for _, close in counts),
        "out_of_order_arrivals": out_of_order,
        "wrong_final_quantities": wrong,
        "refused_signatures": receiver.refused,
        "last_delivery_s_after_last_commit": round(last_delivery - last_commit, 2),
        "total_seconds": round(last_delivery - burst_started, 2),
        "events_drained_s_after_last_commit": round(events_drained, 2),
        "events_unprocessed_at_end": stages["events_unprocessed_at_end"],
        "event_p50_ms": stages["event_p50_ms"],
        "event_p99_ms": stages["event_p99_ms"],
        "flush_late_p99_ms": stages["flush_late_p99_ms"],
        "post_p50_ms": stages["post_p50_ms"],
    }


def burst_warm(load: Burst, receiver: Receiver, window: float) -> None:
    """The warm-up receipts, until the receiver has the first figure of every variant
    and the warm-up's deliveries are out."""
    load.warm_up()
    wait_for(
        lambda: len(receiver.latest()) == VARIANTS,
        timeout=60,
        what="the first figure of every variant at the receiver",
    )
    time.sleep(window)  # the warm-up's deliveries are out


def burst_workload(rounds: int, window: float, loadavg_before: float) -> dict:
    return {
        "changes": rounds * VARIANTS,
        "variants": VARIANTS,
        "initial_on_hand": INITIAL_ON_HAND,
        "load_threads": THREADS,
        "active_channels": active_channels(),
        "coalesce_seconds": window,
        "machine_loadavg_1m_before": loadavg_before,
        "change": "stock_receive 3 / stock_sell 1, alternating per variant, no pause",
        "workers": WORKERS_DESCRIBED,
        "receiver": "threaded http.server in the bench process, signature verified",
    }


def main() -> None:
    started_at = now_iso()
    stop_on_sigterm()
    bench_environment()
    loadavg_before = round(os.getloadavg()[0], 2)
    rounds = CHANGES // VARIANTS
    with stack() as env, contextlib.ExitStack() as cleanup:
        django_setup()
        from django.conf import settings

        window = float(settings.WEBHOOK_COALESCE_SECONDS)
        rig = rig_start(env, cleanup, tag="WHB", count=VARIANTS)
        receiver, shop = rig.receiver, rig.shop
        meter = CpuMeter([worker.pid for worker in rig.workers])

        load = Burst(shop, rounds=rounds)
        cleanup.callback(load.release)
        burst_warm(load, receiver, window)
        wall_offset = time.time() - time.monotonic()
        before = meter.sample()
        load.run()
        last_commit = max(c.committed for c in load.commits)
        burst_started = load.started or last_commit

        expected = expected_quantities(load.commits)
        since = datetime.fromtimestamp(burst_started + wall_offset - 0.01, UTC)
        events_drained = burst_drain(receiver, shop, expected, since=since, last_commit=last_commit)
        time.sleep(window + 0.5)  # anything still on the wire lands
        after = meter.sample()
        load.release()

        figures = {
            **burst_figures(
                load,
                receiver,
                shop,
                expected,
                window=window,
                burst_started=burst_started,
                last_commit=last_commit,
                events_drained=events_drained,
                wall_offset=wall_offset,
            ),
            **CpuMeter.cores(before, after),
        }
        if load.errors:
            print("errors:", load.errors[:5], file=sys.stderr)
        workload = burst_workload(rounds, window, loadavg_before)
        cleanup.close()  # load threads released, worker and receiver stopped, endpoint gone
        report(
            "webhook_burst",
            started_at=started_at,
            workload=workload,
            figures=figures,
            targets={
                "max_deliveries_per_variant_per_window": "<= 1",
                "wrong_final_quantities": "<= 0",
                "errors": "<= 0",
            },
        )


if __name__ == "__main__":
    main()
