"""A batch of outbox events of a mergeable topic is handled in one transaction, with the
handlers run once on the merged payload; a failure falls back to one event at a time."""

from inventory.models import ChannelStock
from inventory.services.stock import stock_receive, stock_sell
from unicommerce.events.models import OutboxEvent
from unicommerce.events.registry import handlers_for
from unicommerce.events.services import event_process_batch


def pending_ids() -> list:
    return list(
        OutboxEvent.objects.filter(processed_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def test_a_burst_of_stock_events_is_recomputed_once(shop, stocked_variant, monkeypatch):
    a, b = stocked_variant(store=10), stocked_variant(warehouse=10)
    for _ in range(3):
        stock_sell(location_id=shop.store.pk, lines=[(a.pk, 1)])
    stock_receive(variant_id=b.pk, location_id=shop.warehouse.pk, quantity=5)
    calls = []
    [refresh, *others] = handlers_for("stock.changed")
    monkeypatch.setattr(
        "unicommerce.events.registry._handlers",
        {"stock.changed": [lambda event: calls.append(event.payload) or refresh(event), *others]},
    )

    assert event_process_batch(event_ids=pending_ids()) == 6

    assert pending_ids() == []
    assert calls == [
        {
            "variant_ids": sorted([a.pk, b.pk]),
            "location_ids": sorted([shop.store.pk, shop.warehouse.pk]),
            "reason": "merged",
        }
    ]
    web = dict(
        ChannelStock.objects.filter(channel=shop.web).values_list("variant__sku", "quantity")
    )
    assert web == {a.sku: 7, b.sku: 15}
    assert event_process_batch(event_ids=pending_ids()) == 0  # nothing twice


def test_when_the_merged_run_fails_each_event_is_tried_alone(shop, stocked_variant, monkeypatch):
    a, b = stocked_variant(store=4), stocked_variant(store=4)
    [refresh, *_others] = handlers_for("stock.changed")

    def picky(event):
        if b.pk in event.payload["variant_ids"]:
            raise RuntimeError("cannot handle b")
        refresh(event)

    monkeypatch.setattr("unicommerce.events.registry._handlers", {"stock.changed": [picky]})

    assert event_process_batch(event_ids=pending_ids()) == 1

    failed = OutboxEvent.objects.get(processed_at__isnull=True)
    assert failed.payload["variant_ids"] == [b.pk]
    assert "cannot handle b" in failed.last_error
    assert ChannelStock.objects.get(channel=shop.web, variant=a).quantity == 4


def test_a_batch_takes_along_the_other_waiting_events_of_its_topic(shop, stocked_variant):
    a, b, c = (stocked_variant(store=3) for _ in range(3))
    first, *others = pending_ids()

    # One message for the first event: the worker is behind, it clears the backlog too.
    assert event_process_batch(event_ids=[first]) == 1 + len(others)

    assert pending_ids() == []
    assert event_process_batch(event_ids=others) == 0  # their own messages: nothing left
    web = ChannelStock.objects.filter(channel=shop.web, variant__in=[a, b, c])
    assert sorted(web.values_list("quantity", flat=True)) == [3, 3, 3]
