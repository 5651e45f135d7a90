"""The outbox consumed by a real Celery worker process over the real Redis broker."""

import pytest

from inventory.models import ChannelStock
from inventory.services.stock import stock_sell
from tests.conftest import drain_worker, wait_until
from unicommerce.events.models import OutboxEvent
from unicommerce.events.relay import relay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture(autouse=True)
def _drained(celery_worker_process):
    yield
    drain_worker()


def test_a_real_worker_consumes_stock_changed_after_commit(
    celery_worker_process, shop, stocked_variant
):
    variant = stocked_variant(store=3, warehouse=4)
    wait_until(
        lambda: ChannelStock.objects.filter(variant=variant, channel=shop.web, quantity=7).exists(),
        what="the worker to record the web channel's quantity after the receipts",
    )

    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 2)])

    web = wait_until(
        lambda: ChannelStock.objects.filter(variant=variant, channel=shop.web, quantity=5).first(),
        what="the worker to hear about the sale",
    )
    store = ChannelStock.objects.get(variant=variant, channel=shop.store_channel)
    assert (web.quantity, store.quantity) == (5, 1)
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert "events.dispatch" in celery_worker_process.output()


def test_the_sweep_delivers_an_event_whose_fast_path_was_lost(
    celery_worker_process, shop, stocked_variant, monkeypatch, settings
):
    from inventory.services.stock import stock_receive
    from unicommerce.events.tasks import outbox_sweep

    variant = stocked_variant()
    # The broker is unreachable at commit time: the after-commit relay fails quietly.
    monkeypatch.setattr(
        "unicommerce.events.relay.send",
        lambda *a, **k: (_ for _ in ()).throw(ConnectionError("broker down")),
    )
    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=2)
    assert relay.flush()
    event = OutboxEvent.objects.get(payload__variant_ids=[variant.pk])
    assert event.processed_at is None
    monkeypatch.undo()

    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    assert outbox_sweep() >= 1  # what beat runs every few seconds
    wait_until(
        lambda: OutboxEvent.objects.filter(pk=event.pk, processed_at__isnull=False).exists(),
        what="the swept event to be processed by the worker",
    )
    assert ChannelStock.objects.get(variant=variant, channel=shop.web).quantity == 2
