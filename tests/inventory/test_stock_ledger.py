import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from inventory.exceptions import InsufficientStock, InvalidQuantity
from inventory.models import StockLevel, StockMovement
from inventory.services.stock import stock_receive, stock_receive_many, stock_sell
from unicommerce.events.models import OutboxEvent


def ledger_sum(variant, location) -> int:
    return (
        StockMovement.objects.filter(variant=variant, location=location).aggregate(
            s=Sum("quantity")
        )["s"]
        or 0
    )


def test_receipt_writes_one_ledger_row_and_the_level(shop, stocked_variant, django_user_model):
    variant = stocked_variant()
    user = django_user_model.objects.create(username="clerk")

    movement = stock_receive(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=5, user=user, note="delivery"
    )

    level = StockLevel.objects.get(variant=variant, location=shop.store)
    assert level.on_hand == 5
    assert (movement.quantity, movement.on_hand_after, movement.reason) == (5, 5, "receipt")
    assert movement.created_by == user
    assert ledger_sum(variant, shop.store) == 5


def test_sale_takes_stock_and_records_the_source_document(shop, stocked_variant):
    variant = stocked_variant(store=3)
    source = shop.register  # any model instance may be the source document

    [movement] = stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 2)], source=source)

    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 1
    assert (movement.quantity, movement.on_hand_after, movement.reason) == (-2, 1, "sale")
    assert movement.source_type.model == "register"
    assert movement.source_id == str(source.pk)
    assert ledger_sum(variant, shop.store) == 1


def test_sale_of_more_than_available_changes_nothing(shop, stocked_variant):
    enough = stocked_variant(store=5)
    short = stocked_variant(store=1)
    events_before = OutboxEvent.objects.count()
    ledger_before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as raised:
        stock_sell(location_id=shop.store.pk, lines=[(enough.pk, 2), (short.pk, 2)])

    assert raised.value.details == {
        "sku": short.sku,
        "location": "Paris",
        "requested": 2,
        "available": 1,
    }
    assert StockLevel.objects.get(variant=enough, location=shop.store).on_hand == 5
    assert StockLevel.objects.get(variant=short, location=shop.store).on_hand == 1
    assert StockMovement.objects.count() == ledger_before
    assert OutboxEvent.objects.count() == events_before


def test_reserved_units_cannot_be_sold(shop, stocked_variant):
    variant = stocked_variant(store=2)
    StockLevel.objects.filter(variant=variant, location=shop.store).update(reserved=2)

    with pytest.raises(InsufficientStock):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 2


def test_channels_keep_safety_stock_but_the_till_may_sell_it(shop, stocked_variant):
    variant = stocked_variant(store=2)
    StockLevel.objects.filter(variant=variant, location=shop.store).update(safety=2)

    with pytest.raises(InsufficientStock):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)], keep_safety=True)
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)], keep_safety=False)

    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 1


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True])
def test_quantities_must_be_positive_whole_numbers(shop, stocked_variant, quantity):
    variant = stocked_variant(store=3)

    with pytest.raises(InvalidQuantity):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, quantity)])
    with pytest.raises(InvalidQuantity):
        stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=quantity)
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 3


def test_bulk_receipt_merges_duplicates_into_one_row_per_level(shop, stocked_variant):
    a, b = stocked_variant(), stocked_variant()

    movements = stock_receive_many(
        entries=[(a.pk, shop.store.pk, 2), (b.pk, shop.store.pk, 1), (a.pk, shop.store.pk, 3)]
    )

    assert sorted((m.variant_id, m.quantity, m.on_hand_after) for m in movements) == [
        (a.pk, 5, 5),
        (b.pk, 1, 1),
    ]
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == 1


def test_every_change_publishes_a_stock_changed_event_in_the_same_transaction(
    shop, stocked_variant
):
    variant = stocked_variant()

    def receipt_then_failure() -> None:
        with transaction.atomic():
            stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=4)
            raise RuntimeError("the caller's transaction fails after the receipt")

    with pytest.raises(RuntimeError):
        receipt_then_failure()

    assert not StockLevel.objects.filter(variant=variant).exists()
    assert not OutboxEvent.objects.filter(payload__variant_ids=[variant.pk]).exists()

    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=4)
    event = OutboxEvent.objects.get(payload__variant_ids=[variant.pk])
    assert event.topic == "stock.changed"
    assert event.payload == {
        "variant_ids": [variant.pk],
        "location_ids": [shop.store.pk],
        "reason": "receipt",
    }


def test_the_database_refuses_to_update_or_delete_ledger_rows(shop, stocked_variant):
    variant = stocked_variant(store=1)
    movement = StockMovement.objects.get(variant=variant)

    for sql in (
        "UPDATE inventory_stockmovement SET quantity = 99 WHERE id = %s",
        "DELETE FROM inventory_stockmovement WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [movement.pk])
    movement.refresh_from_db()
    assert movement.quantity == 1


def test_the_database_refuses_negative_stock_even_when_code_is_wrong(shop, stocked_variant):
    variant = stocked_variant(store=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(variant=variant).update(on_hand=-1)
    assert StockLevel.objects.get(variant=variant).on_hand == 1
