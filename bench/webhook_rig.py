"""What the webhook benchmarks share (bench_webhook_latency, bench_webhook_burst, and the
payment ones): the channel's receiver (a threaded HTTP server checking signatures), the
dev stack's Celery workers on the bench database, a CPU meter, the shop whose stock
changes (a channel, a store, an endpoint, fresh variants), one stock change, and where
the time went according to the database (``stage_figures``)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import ROOT, percentile, relay_warm

# Known before the project (and its Celery app) is imported: see bench_environment().
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
from unicommerce.devstack import CELERY_WORKERS

INITIAL_ON_HAND = 100
CHANNEL_CODE = "bench-webhooks"
# The workers of the dev stack, exactly as `make run` starts them: the stock sync on a
# prefork pool, outgoing HTTP on a threads pool.
_CELERY = ["-A", "unicommerce", "-q", "worker", "-l", "info"]
WORKERS = {name: [*_CELERY, *arguments] for name, arguments in CELERY_WORKERS.items()}
WORKERS_DESCRIBED = (
    "the dev stack's two workers: sync,default on a prefork pool of 2; "
    "webhooks,messaging on a threads pool of 8"
)
QUEUES = [q for a in CELERY_WORKERS.values() for q in a[a.index("-Q") + 1].split(",")]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def bench_environment() -> None:
    """Before anything imports the project (common.stack() does): the settings module,
    which the workers are given too, and the receiver is on 127.0.0.1."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["WEBHOOK_ALLOW_PRIVATE_HOSTS"] = "true"


def stop_on_sigterm() -> None:
    """A SIGTERM (make, CI) unwinds like Ctrl-C: the worker and receiver are stopped."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# --------------------------------------------------------------------------- receiver


@dataclass(frozen=True)
class Receipt:
    sku: str
    version: int
    quantity: int
    arrived: float  # time.monotonic() of this process
    event_id: str


@dataclass
class Receiver:
    """A channel's webhook receiver: a threaded HTTP server on 127.0.0.1 that checks the
    signature of every call and records what arrived, and when."""

    secret: str = ""
    receipts: list[Receipt] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        from unicommerce.webhooks import signing

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.monotonic()
                try:
                    signing.verify(
                        receiver.secret, self.headers.get(signing.SIGNATURE_HEADER), body
                    )
                    document = json.loads(body)
                    data = document["data"]
                    receipt = Receipt(
                        data["sku"], data["version"], data["quantity"], arrived, document["id"]
                    )
                except (signing.SignatureError, ValueError, KeyError):
                    with receiver._lock:
                        receiver.refused += 1
                    self._answer(401, b"bad signature")
                    return
                with receiver._lock:
                    receiver.receipts.append(receipt)
                self._answer(200, b"ok")

            def _answer(self, status: int, text: bytes) -> None:
                # One write for the whole answer: a head and a body sent apart would
                # wait out the sender's delayed ACK (≈40 ms a call), not ours to measure.
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self._headers_buffer.append(b"\r\n" + text)
                self.flush_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/stock"

    def snapshot(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)

    def latest(self) -> dict[str, Receipt]:
        """Per SKU, the receipt of the highest version (what a careful receiver keeps)."""
        latest: dict[str, Receipt] = {}
        for receipt in self.snapshot():
            seen = latest.get(receipt.sku)
            if seen is None or receipt.version > seen.version:
                latest[receipt.sku] = receipt
        return latest


# --------------------------------------------------------------------------- worker


@contextlib.contextmanager
def _worker(name: str, arguments: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """One Celery worker in its own process group, stopped (warm shutdown, then killed)
    on the way out; its log is kept only if it has errors (or BENCH_KEEP_WORKER_LOG)."""
    log = Path(tempfile.mkstemp(prefix=f"bench-webhooks-{name}-", suffix=".log")[1])
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), *arguments],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: "ready." in log.read_text(errors="replace") or process.poll() is not None,
            timeout=60,
            what=f"the Celery worker {name} to start",
        )
        if process.poll() is not None:
            raise SystemExit(f"the worker {name} died:\n" + log.read_text(errors="replace")[-3000:])
        yield process
    finally:
        if process.poll() is None:
            process.terminate()  # warm shutdown: the pool finishes its tasks and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
        process.wait(10)
        errors = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "ERROR" in line or "CRITICAL" in line or "Traceback" in line
        ]
        if errors or os.environ.get("BENCH_KEEP_WORKER_LOG"):
            print(f"worker log {log}: {len(errors)} error lines", file=sys.stderr)
            print("\n".join(errors[:5]), file=sys.stderr)
        else:
            log.unlink()


@contextlib.contextmanager
def celery_workers(env: dict[str, str]) -> Iterator[list[subprocess.Popen]]:
    """The dev stack's workers (WORKERS, as `make run` starts them) on the bench database
    and Redis, with the bench process's settings module; the queues purged before and
    after."""
    worker_env = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    queues_purge()
    try:
        with contextlib.ExitStack() as workers:
            yield [
                workers.enter_context(_worker(name, arguments, worker_env))
                for name, arguments in WORKERS.items()
            ]
    finally:
        queues_purge()  # nothing left for the next benchmark


def queues_purge() -> int:
    """Empty the worker's queues (and Celery's default one) on the bench Redis: tasks
    left there by earlier benchmarks would be worked off before ours."""
    from unicommerce.celery import app

    purged = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in [*QUEUES, "celery"]:
            purged += channel.queue_purge(name) or 0
    return purged


def _proc_cpu() -> tuple[dict[int, int], dict[int, float]]:
    """Every live process: its parent, and the CPU seconds (user + system) it used."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return parents, times


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (not idle, not waiting for I/O)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Who used the cores between two samples: this process (load generator and
    receiver), the worker (main process and pool), the PostgreSQL backends serving this
    database, and the whole machine (the rest is other people's work on a shared box)."""

    def __init__(self, worker_pids: list[int]) -> None:
        self.worker_pids = worker_pids

    def sample(self) -> dict[str, float]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            backends = {row[0] for row in cursor.fetchall()}
        parents, times = _proc_cpu()
        tree, frontier = set(self.worker_pids), list(self.worker_pids)
        while frontier:
            parent = frontier.pop()
            for child, its_parent in parents.items():
                if its_parent == parent and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "at": time.monotonic(),
            "load_generator": usage.ru_utime + usage.ru_stime,
            "worker": sum(times.get(pid, 0.0) for pid in tree),
            "postgres": sum(times.get(pid, 0.0) for pid in backends),
            "machine": _machine_busy(),
            # per backend, so one that ends between the samples is not counted as negative
            **{f"pg{pid}": times.get(pid, 0.0) for pid in backends},
        }

    @staticmethod
    def cores(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        elapsed = after["at"] - before["at"]
        postgres = sum(
            value - before[key]
            for key, value in after.items()
            if key.startswith("pg") and key in before
        ) + sum(value for key, value in after.items() if key.startswith("pg") and key not in before)
        used = {
            "load_generator_cores": after["load_generator"] - before["load_generator"],
            "worker_cores": after["worker"] - before["worker"],
            "postgres_cores": postgres,
            "machine_busy_cores": after["machine"] - before["machine"],
        }
        figures = {key: round(value / elapsed, 2) for key, value in used.items()}
        figures["others_cores"] = round(
            figures["machine_busy_cores"]
            - figures["load_generator_cores"]
            - figures["worker_cores"]
            - figures["postgres_cores"],
            2,
        )
        return figures


# --------------------------------------------------------------------------- data


@dataclass
class Shop:
    channel_id: int
    location_id: int
    endpoint_id: int
    secret: str
    variant_ids: list[int]
    skus: list[str]


def shop_prepare(*, receiver_url: str, tag: str, count: int) -> Shop:
    """The bench channel and location, a new endpoint at ``receiver_url`` (earlier runs'
    endpoints deleted) and ``count`` new variants with no stock yet."""
    from django.utils import timezone

    from catalog.models import Product, Variant
    from inventory.models import Location
    from unicommerce.channels.models import SalesChannel
    from unicommerce.events.models import OutboxEvent
    from unicommerce.webhooks.models import WebhookEndpoint
    from unicommerce.webhooks.services import endpoint_create

    channel, _ = SalesChannel.objects.update_or_create(
        code=CHANNEL_CODE, defaults={"name": "Benchmark webhooks", "kind": "web", "is_active": True}
    )
    location, _ = Location.objects.update_or_create(
        code=CHANNEL_CODE,
        defaults={"name": "Benchmark webhooks store", "kind": "store", "is_active": True},
    )
    location.channels.set([channel])
    WebhookEndpoint.objects.filter(channel=channel).delete()
    # Events left unprocessed by earlier benchmarks (no worker ran then, or it was
    # stopped with a backlog) are not this run's work: a consumer that drains the outbox
    # would otherwise start by recomputing them.
    OutboxEvent.objects.filter(processed_at__isnull=True).update(
        processed_at=timezone.now(), last_error="skipped by a benchmark: left over"
    )
    endpoint = endpoint_create(channel=channel, url=receiver_url, event_types=["stock.changed"])
    run = f"{int(time.time()):x}"
    product = Product.objects.create(name=f"Benchmark webhooks {tag} {run}")
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"BENCH-{tag}-{run}-{i:04d}", price_amount="1.00")
        for i in range(count)
    )
    return Shop(
        channel_id=channel.pk,
        location_id=location.pk,
        endpoint_id=endpoint.pk,
        secret=endpoint.secret,
        variant_ids=[v.pk for v in variants],
        skus=[v.sku for v in variants],
    )


def shop_forget(shop: Shop) -> None:
    """Delete this run's endpoint (its deliveries and their log go with it)."""
    from unicommerce.webhooks.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(pk=shop.endpoint_id).delete()


def active_channels() -> int:
    from unicommerce.channels.models import SalesChannel

    return SalesChannel.objects.filter(is_active=True).count()


def stock_change(*, variant_id: int, location_id: int, step: int) -> int:
    """The ``step``-th change of a variant: receive 3 units (even steps) or sell 1 (odd).
    Returns ``on_hand`` after it."""
    from inventory.services.stock import stock_receive, stock_sell

    if step % 2 == 0:
        return stock_receive(
            variant_id=variant_id, location_id=location_id, quantity=3
        ).on_hand_after
    return stock_sell(location_id=location_id, lines=[(variant_id, 1)])[0].on_hand_after


@dataclass(frozen=True)
class Commit:
    variant: int  # index in shop.variant_ids
    step: int  # the variant's step-th change
    on_hand_after: int
    due: float  # monotonic
    committed: float  # monotonic, just after the service returned


# --------------------------------------------------------------------------- diagnostics


def stage_figures(shop: Shop, since_wall: float, until_wall: float) -> dict:
    """Where the time went, from the database's own timestamps (all wall clock, one
    machine): outbox event written → processed, and a delivery's due time → its POST."""
    from datetime import UTC, datetime

    from django.db.models import F

    from unicommerce.events.models import OutboxEvent
    from unicommerce.webhooks.models import WebhookAttempt

    since = datetime.fromtimestamp(since_wall, UTC)
    until = datetime.fromtimestamp(until_wall, UTC)
    stamps = OutboxEvent.objects.filter(
        topic="stock.changed", created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "processed_at")
    events = [(done - made).total_seconds() for made, done in stamps if done is not None]
    backlog = sum(1 for _, done in stamps if done is None)
    attempts = list(
        WebhookAttempt.objects.filter(
            delivery__endpoint_id=shop.endpoint_id, started_at__gte=since, started_at__lt=until
        ).values_list(
            "started_at",
            F("delivery__next_attempt_at"),
            F("delivery__first_change_at"),
            F("delivery__coalesced"),
            "duration_ms",
        )
    )
    late = [(started - due).total_seconds() for started, due, _, _, _ in attempts]
    since_first = [(started - first).total_seconds() for started, _, first, _, _ in attempts]
    folded = [coalesced for _, _, _, coalesced, _ in attempts]
    posts = [duration / 1000 for _, _, _, _, duration in attempts]

    def ms(values: list[float], p: float) -> float:
        return round(percentile(values, p) * 1000, 1) if values else 0.0

    return {
        "events_unprocessed_at_end": backlog,
        "event_p50_ms": ms(events, 50),
        "event_p99_ms": ms(events, 99),
        "flush_late_p50_ms": ms(late, 50),
        "flush_late_p99_ms": ms(late, 99),
        "first_change_to_post_p50_ms": ms(since_first, 50),
        "first_change_to_post_p99_ms": ms(since_first, 99),
        "post_p50_ms": ms(posts, 50),
        "post_p99_ms": ms(posts, 99),
        "changes_per_delivery": round(sum(folded) / len(folded), 2) if folded else 0.0,
    }


@dataclass
class Rig:
    """What a webhook benchmark runs against (``rig_start``)."""

    receiver: Receiver
    shop: Shop
    workers: list[subprocess.Popen]


def rig_start(env: dict[str, str], cleanup: contextlib.ExitStack, *, tag: str, count: int) -> Rig:
    """The receiver, a fresh shop whose endpoint points at it (``count`` variants named
    after ``tag``) and the dev stack's workers, each stopped or forgotten by ``cleanup``;
    this process's relay warmed."""
    receiver = Receiver().start()
    cleanup.callback(receiver.stop)
    shop = shop_prepare(receiver_url=receiver.url, tag=tag, count=count)
    cleanup.callback(shop_forget, shop)
    receiver.secret = shop.secret
    workers = cleanup.enter_context(celery_workers(env))
    relay_warm()
    return Rig(receiver, shop, workers)
