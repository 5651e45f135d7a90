import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.models import ChannelStock
from inventory.services.stock import stock_receive
from unicommerce.events.models import OutboxEvent
from unicommerce.events.registry import subscribe
from unicommerce.events.relay import relay
from unicommerce.events.services import event_process, event_publish, outbox_pending
from unicommerce.events.tasks import outbox_sweep


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_publish(topic="test.nothing", payload={})
    assert OutboxEvent.objects.count() == 0


def test_the_relay_runs_only_after_commit(db, django_capture_on_commit_callbacks):
    with mock.patch("unicommerce.events.tasks.event_dispatch.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
            event = event_publish(topic="test.thing", payload={"n": 1})
        relay.flush()
        assert apply_async.call_count == 0
        assert len(callbacks) == 1
        callbacks[0]()
        assert relay.flush()
    [call] = apply_async.call_args_list
    assert call.kwargs["args"] == [[str(event.id)]]
    assert call.kwargs["retry"] is False


def test_the_relay_sends_a_burst_of_commits_in_a_few_messages(db):
    sent = []
    release = threading.Event()

    def slow_send(batch, producer=None):
        release.wait(5)  # the broker is slow: commits pile up meanwhile
        sent.append(batch)

    with mock.patch("unicommerce.events.relay.send", side_effect=slow_send):
        for number in range(200):
            relay.submit(f"event-{number}")
        release.set()
        assert relay.flush()

    assert [event for batch in sent for event in batch] == [f"event-{n}" for n in range(200)]
    assert len(sent) <= 3


def test_a_broker_outage_at_commit_loses_nothing(db, django_capture_on_commit_callbacks):
    with (
        mock.patch(
            "unicommerce.events.tasks.event_dispatch.apply_async",
            side_effect=ConnectionError("redis is down"),
        ),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        event = event_publish(topic="test.thing", payload={})
    assert relay.flush()

    event.refresh_from_db()
    assert event.processed_at is None
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert outbox_pending(older_than=timedelta(seconds=5)) == [event.id]


def test_stock_changed_handler_records_the_sellable_quantity_per_channel(shop, stocked_variant):
    variant = stocked_variant(store=2, warehouse=5)
    event = OutboxEvent.objects.filter(topic="stock.changed").latest("created_at")

    assert event_process(event_id=event.id) is True

    figures = dict(
        ChannelStock.objects.filter(variant=variant).values_list("channel__code", "quantity")
    )
    assert figures == {"web": 7, "store-paris": 2}


def test_an_event_is_processed_once_even_when_delivered_twice(shop, stocked_variant):
    variant = stocked_variant(store=2)
    event = OutboxEvent.objects.filter(topic="stock.changed").latest("created_at")

    assert event_process(event_id=event.id) is True
    version = ChannelStock.objects.get(variant=variant, channel=shop.web).version
    assert event_process(event_id=event.id) is False

    assert ChannelStock.objects.get(variant=variant, channel=shop.web).version == version


def test_versions_grow_only_when_the_sellable_quantity_changes(shop, stocked_variant):
    variant = stocked_variant(store=2)
    for event in OutboxEvent.objects.filter(processed_at__isnull=True).order_by("created_at"):
        event_process(event_id=event.id)
    first = ChannelStock.objects.get(variant=variant, channel=shop.web)

    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
    event_process(event_id=OutboxEvent.objects.latest("created_at").id)
    second = ChannelStock.objects.get(variant=variant, channel=shop.web)

    assert (first.quantity, second.quantity) == (2, 3)
    assert second.version == first.version + 1


def test_a_failing_handler_leaves_the_event_pending_with_a_backoff(db):
    calls = []

    @subscribe("test.flaky")
    def flaky(event):
        calls.append(event.id)
        raise ValueError("downstream said no")

    with transaction.atomic():
        event = event_publish(topic="test.flaky", payload={})

    with pytest.raises(ValueError, match="downstream said no"):
        event_process(event_id=event.id)

    event.refresh_from_db()
    assert event.processed_at is None
    assert event.attempts == 1
    assert event.last_error == "ValueError: downstream said no"
    assert event.available_at > timezone.now()
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert event.id not in outbox_pending(older_than=timedelta(seconds=5))


def test_the_sweep_resends_old_pending_events_and_skips_processed_ones(db, settings):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 5
    with transaction.atomic():
        old = event_publish(topic="test.old", payload={})
        done = event_publish(topic="test.done", payload={})
        fresh = event_publish(topic="test.fresh", payload={})
    an_hour_ago = timezone.now() - timedelta(hours=1)
    OutboxEvent.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=an_hour_ago)
    OutboxEvent.objects.filter(pk=done.pk).update(processed_at=timezone.now())

    with mock.patch("unicommerce.events.tasks.event_dispatch.apply_async") as apply_async:
        assert outbox_sweep() == 1

    apply_async.assert_called_once_with(args=[[str(old.id)]], retry=False)
    assert fresh.id not in outbox_pending(older_than=timedelta(seconds=5))


def test_processed_events_are_pruned_after_a_while(db):
    from unicommerce.events.services import outbox_prune

    with transaction.atomic():
        old = event_publish(topic="test.old", payload={})
        recent = event_publish(topic="test.recent", payload={})
        pending = event_publish(topic="test.pending", payload={})
    OutboxEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent.pk).update(processed_at=timezone.now())

    assert outbox_prune(older_than=timedelta(days=7)) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
