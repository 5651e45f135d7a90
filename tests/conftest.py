"""Shared fixtures. Everything runs on the real PostgreSQL and Redis the dev stack
started (or DATABASE_URL / REDIS_URL); the Celery worker is a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from inventory.models import Location
from inventory.services.stock import stock_receive
from tests.factories import (
    LocationFactory,
    RegisterFactory,
    SalesChannelFactory,
    UserFactory,
    VariantFactory,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(autouse=True)
def _rate_limits_apart() -> None:
    """Each test starts with no rate-limit hits and no failed log-ins (this xdist
    worker's own Redis database), so the suite's many sign-ins from 127.0.0.1 never add
    up."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    # Rate-limit counters (unicommerce.ratelimit) and failed log-ins (django-axes).
    for pattern in ("uc-rl*", "*:axes-*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    from unicommerce.access.perms import staff_perms_forget

    staff_perms_forget()  # permissions given by one test never linger into the next
    from orders.pricing.offers import offers_forget

    offers_forget()  # nor promotions remembered by a cart read


@dataclass
class Shop:
    """A small chain: a web channel fed by a warehouse and the store, a store channel."""

    web: object
    store_channel: object
    warehouse: Location
    store: Location
    register: object
    seller: object


@pytest.fixture
def shop(db, request) -> Shop:
    web = SalesChannelFactory(code="web", name="Web store")
    store_channel = SalesChannelFactory(code="store-paris", name="Paris store", kind="store")
    warehouse = LocationFactory(
        code="warehouse", name="Warehouse", kind="warehouse", channels=[web]
    )
    store = LocationFactory(code="paris", name="Paris", kind="store", channels=[store_channel, web])
    register = RegisterFactory(code="paris-1", name="Till 1", location=store, channel=store_channel)
    seller = UserFactory(username="seller", role="seller")
    store.staff.add(seller)
    # The till is open for the day (a sale needs an open session: pos.sessions), unless
    # the test is about sessions or the journal itself (``register_closed``).
    if request.node.get_closest_marker("register_closed") is None:
        from pos.sessions import session_open

        session_open(register=register, user=seller, counted="0.00")
    return Shop(web, store_channel, warehouse, store, register, seller)


@pytest.fixture
def stocked_variant(shop: Shop) -> Callable:
    """Make a variant with ``store`` units in the store and ``warehouse`` in the warehouse."""

    def make(*, store: int = 0, warehouse: int = 0, **fields):
        variant = VariantFactory(**fields)
        if store:
            stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=store)
        if warehouse:
            stock_receive(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=warehouse)
        return variant

    return make


def _database_url() -> str:
    settings = connection.settings_dict
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgresql://{auth}@{host}{port}/{settings['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[WorkerProcess]:
    """A real `celery -A unicommerce worker` process on this test database and on this
    xdist worker's own Redis database (so parallel test processes never share a queue).

    Module-scoped: a worker left running would consume the events of later tests and
    hold locks while their database is being flushed."""
    from django.conf import settings

    ARTIFACTS.mkdir(exist_ok=True)
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    log = ARTIFACTS / f"celery-worker-{name}.log"
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "unicommerce.settings.test",
        "DATABASE_URL": database_url,
        # The worker's test settings derive the same per-xdist-worker database from this.
        "REDIS_URL": os.environ["REDIS_URL"],
        "PYTEST_XDIST_WORKER": name,
    }
    # Tasks left in this queue by earlier tests point at rows that no longer exist.
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "unicommerce",
                "worker",
                "--pool=threads",
                "--concurrency=2",
                f"--queues={settings.CELERY_WORKER_QUEUES}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log)
    deadline = time.monotonic() + 60
    while "ready." not in worker.output():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{worker.output()[-3000:]}")
        time.sleep(0.2)
    yield worker
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def drain_worker() -> None:
    """Wait until the worker has nothing queued and every event is processed, so the
    test's database flush never races a worker transaction."""
    import redis
    from django.conf import settings

    from unicommerce.events.models import OutboxEvent

    client = redis.Redis.from_url(settings.REDIS_URL)
    queues = settings.CELERY_WORKER_QUEUES.split(",")
    wait_until(
        lambda: (
            all(client.llen(queue) == 0 for queue in queues)
            and not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
        ),
        what="the worker to finish its queue",
    )
    time.sleep(0.3)  # the last task commits, then acknowledges


def wait_until(predicate: Callable[[], object], *, timeout: float = 20.0, what: str = "") -> object:
    """Poll ``predicate`` until it returns something truthy (for asynchronous effects)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def run_outbox() -> int:
    """Process every pending outbox event in this thread, as the worker would (for tests
    that need the stock worker's figures without starting a worker process)."""
    from unicommerce.events.models import OutboxEvent
    from unicommerce.events.services import event_process

    pending = OutboxEvent.objects.filter(processed_at__isnull=True).order_by("created_at")
    return sum(event_process(event_id=pk) for pk in pending.values_list("pk", flat=True))


@pytest.fixture(autouse=True)
def _fiscal_journal_wiped_after_transactional_tests(request) -> None:
    """Every transactional test (a live server, real concurrent connections) may write
    the fiscal journal (a till sale writes a ticket): its records are removed before
    Django empties the database (``fiscal_journal_wipe``)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("fiscal_journal_wipe")


@pytest.fixture
def fiscal_journal_wipe(transactional_db) -> Iterator[None]:
    """For transactional tests that write the fiscal journal. The journal refuses TRUNCATE
    once it holds records, so Django's flush after such a test would fail: its records are
    removed first, with the triggers off for this one connection (test databases only)."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("DELETE FROM pos_journalrecord")
        finally:
            cursor.execute("SET session_replication_role = origin")
