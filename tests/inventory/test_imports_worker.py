"""Imports run by a real Celery worker process, and each job run exactly once whatever
the deliveries (real threads, each on its own PostgreSQL connection)."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from inventory.models import ChannelStock, ImportJob, StockLevel, StockMovement
from inventory.services.imports.jobs import import_job_create, import_job_run
from tests.conftest import drain_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

STOCK_FILE = "sku,location,on_hand\nA-1,paris,5\n"


@pytest.fixture(autouse=True)
def _drained(celery_worker_process):
    yield
    drain_worker()


def waiting_job(status: str = "pending") -> ImportJob:
    """A job as a worker finds it (made directly: nothing is queued for it)."""
    return ImportJob.objects.create(
        kind="stock", filename="count.csv", content=STOCK_FILE, total_rows=1, status=status
    )


def test_a_real_worker_imports_an_uploaded_stock_file_end_to_end(
    celery_worker_process, shop, stocked_variant, django_user_model
):
    clerk = django_user_model.objects.create(username="clerk")
    first = stocked_variant(store=2, sku="A-1")
    second = stocked_variant(sku="B-1")

    job = import_job_create(
        kind="stock",
        filename="count.csv",
        content="\ufeffsku;location;on_hand;safety\nA-1;paris;5;1\nB-1;warehouse;3;\n",
        user=clerk,
    )

    finished = wait_until(
        lambda: ImportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(),
        what="the worker to run the import",
    )
    assert finished.status == "done", finished.errors
    assert (finished.processed_rows, finished.total_rows) == (2, 2)
    assert finished.summary == {
        "rows": 2,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "ledger_rows": 2,
    }
    assert StockLevel.objects.get(variant=first, location=shop.store).on_hand == 5
    assert StockLevel.objects.get(variant=first, location=shop.store).safety == 1
    assert StockLevel.objects.get(variant=second, location=shop.warehouse).on_hand == 3
    movements = StockMovement.objects.filter(reason="count", source_id=str(job.pk))
    assert sorted(m.quantity for m in movements) == [3, 3]
    assert {m.created_by for m in movements} == {clerk}
    # The stock worker heard about it: the web store may sell 5 - 1 safety, and 3.
    wait_until(
        lambda: (
            ChannelStock.objects.filter(variant=first, channel=shop.web, quantity=4).exists()
            and ChannelStock.objects.filter(variant=second, channel=shop.web, quantity=3).exists()
        ),
        what="the channel stock after the import",
    )
    assert "inventory.import_run" in celery_worker_process.output()


def hold_the_job_row(job: ImportJob):
    """Another worker running ``job``: a thread holding its row lock until released."""
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                ImportJob.objects.select_for_update().get(pk=job.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)

    def stop() -> None:
        release.set()
        thread.join(30)
        close_old_connections()

    return stop


@pytest.mark.parametrize("status", ["pending", "running"])
def test_a_job_being_run_by_another_worker_is_left_alone(shop, stocked_variant, status):
    stocked_variant(sku="A-1")
    job = waiting_job(status)
    stop = hold_the_job_row(job)

    try:
        result = import_job_run(job_id=job.pk)
    finally:
        stop()

    assert result is None
    job.refresh_from_db()
    assert (job.status, job.finished_at, job.summary) == (status, None, {})
    assert not StockLevel.objects.exists()
    assert not StockMovement.objects.exists()


def test_a_job_left_running_by_a_worker_that_died_is_run_by_the_next_delivery(
    shop, stocked_variant
):
    variant = stocked_variant(sku="A-1")
    job = waiting_job("running")  # committed as running, but nobody holds its row

    result = import_job_run(job_id=job.pk)

    assert result is not None
    assert result.status == "done"
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 5


def test_two_deliveries_of_the_same_job_at_once_run_it_once(shop, stocked_variant):
    variant = stocked_variant(sku="A-1")
    job = waiting_job()
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def deliver(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = import_job_run(job_id=job.pk)
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()

    runs = [o for o in outcomes if isinstance(o, ImportJob)]
    assert len(runs) == 1, outcomes
    assert outcomes.count(None) == 1, outcomes
    job.refresh_from_db()
    assert job.status == "done"
    assert StockMovement.objects.filter(variant=variant).count() == 1
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 5
