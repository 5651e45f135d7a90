"""Fault tests: the broker dies while sales commit, a worker is killed in the middle of a
delivery. Real processes throughout: a private Redis server, Celery workers with their
beat, tills selling from another process, and an HTTP receiver."""

import threading

import pytest

from inventory.models import ChannelStock
from tests.conftest import _database_url, wait_until
from tests.webhooks.receiver import Receiver
from tests.webhooks.stack import PrivateRedis, Worker, sell_in_another_process
from unicommerce.events.models import OutboxEvent
from unicommerce.webhooks.models import WebhookDelivery
from unicommerce.webhooks.services import endpoint_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def database_url(django_db_blocker):
    with django_db_blocker.unblock():
        return _database_url()


@pytest.fixture
def redis_server(request):
    server = PrivateRedis(request.node.name[:40]).start()
    yield server
    server.stop()


@pytest.fixture
def quiet_relay(monkeypatch):
    """This test process sets the scene; its own commits reach the workers through the
    outbox sweep only (its relay talks to the shared test Redis, not the private one)."""
    monkeypatch.setattr("unicommerce.events.relay.send", lambda *a, **k: None)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def everything_settled() -> bool:
    return (
        not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
        and not WebhookDelivery.objects.filter(status__in=["pending", "sending"]).exists()
    )


def test_sales_committed_while_redis_is_down_all_reach_the_channel_once_it_is_back(
    shop, stocked_variant, receiver, redis_server, database_url, quiet_relay, request
):
    endpoint_create(channel=shop.web, url=receiver.url, event_types=["stock.changed"])
    variants = [stocked_variant(store=30) for _ in range(4)]
    ids = [v.pk for v in variants]
    worker = Worker(redis_server.url, database_url, name=request.node.name[:40])
    try:
        wait_until(lambda: len(receiver.latest_quantities()) == 4, timeout=60, what="first sync")
        sell_in_another_process(redis_server.url, database_url, shop.store.pk, ids * 2)
        wait_until(
            lambda: all(q == 28 for _, q in receiver.latest_quantities().values()),
            timeout=60,
            what="the sales made with Redis up",
        )

        redis_server.stop()
        # The till keeps selling: every sale commits, with its event in the outbox.
        sell_in_another_process(redis_server.url, database_url, shop.store.pk, ids * 3)
        assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 12

        redis_server.start()  # same port, empty: every queued message was lost
        wait_until(
            lambda: worker.supervise() or everything_settled(),
            timeout=90,
            what="the sweep to deliver everything",
        )
    finally:
        worker.stop()

    expected = {v.sku: 25 for v in variants}
    assert {sku: q for sku, (_, q) in receiver.latest_quantities().items()} == expected
    for variant in variants:
        figure = ChannelStock.objects.get(channel=shop.web, variant=variant)
        assert receiver.latest_quantities()[variant.sku] == (figure.version, 25)


def test_a_worker_killed_during_a_delivery_delivers_it_again_with_the_same_event_id(
    shop, stocked_variant, receiver, redis_server, database_url, quiet_relay, request
):
    endpoint_create(channel=shop.web, url=receiver.url, event_types=["stock.changed"])
    receiver.hang, receiver.hang_calls = threading.Event(), 1
    variant = stocked_variant(store=3)
    first = Worker(redis_server.url, database_url, name=request.node.name[:30] + "-1")
    try:
        wait_until(lambda: receiver.calls, timeout=60, what="the delivery to start")
        # The receiver has the request (and records its event id) but has not answered.
        first.kill()
    finally:
        first.stop()
    receiver.hang.set()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "sending"

    second = Worker(redis_server.url, database_url, name=request.node.name[:30] + "-2")
    try:
        wait_until(everything_settled, timeout=60, what="the delivery to be handed back and sent")
    finally:
        second.stop()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    # Sent twice with one event id: the receiver drops the second as a duplicate.
    assert receiver.event_ids() == [str(delivery.event_id)] * 2
    assert len(set(receiver.event_ids())) == 1
    assert receiver.latest_quantities()[variant.sku][1] == 3
