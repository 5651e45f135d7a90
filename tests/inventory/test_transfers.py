"""Transfers: draft → shipped (through "in transit") → partially received → received, or
closed with a discrepancy. Every negative case also checks that nothing changed."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum

from inventory.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    ReceiptEmpty,
    TransferEmpty,
    TransferLocationUnusable,
    TransferReceiptExceedsOutstanding,
    TransferSameLocation,
    TransitLocationUnusable,
    VariantNotOnTransfer,
    VariantUnknown,
)
from inventory.models import Location, StockLevel, StockMovement, Transfer, TransferLine
from inventory.services.reservations import stock_reserve
from inventory.services.transfers import (
    TransferInvalidTransition,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_line_set,
    transfer_receive,
    transfer_receive_all,
    transfer_ship,
)
from tests.factories import LocationFactory, VariantFactory
from unicommerce.events.models import OutboxEvent
from unicommerce.exceptions import InvalidTransition


def level(variant, location) -> tuple[int, int, int]:
    """(on_hand, reserved, incoming), zeros when the level does not exist."""
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.reserved, found.incoming) if found else (0, 0, 0)


def rows(transfer) -> list[tuple[str, str, int, int, str]]:
    """The ledger rows of a transfer: (sku, location code, quantity, on hand after, reason)."""
    return [
        (m.variant.sku, m.location.code, m.quantity, m.on_hand_after, m.reason)
        for m in StockMovement.objects.filter(
            source_type__model="transfer", source_id=str(transfer.pk)
        )
        .select_related("variant", "location")
        .order_by("id")
    ]


def assert_ledger_invariant() -> None:
    for stock in StockLevel.objects.all():
        total = (
            StockMovement.objects.filter(
                variant_id=stock.variant_id, location_id=stock.location_id
            ).aggregate(s=Sum("quantity"))["s"]
            or 0
        )
        assert stock.on_hand == total, stock


def snapshot() -> tuple:
    """Everything a refused operation must leave as it was."""
    return (
        sorted(
            StockLevel.objects.values_list(
                "variant_id", "location_id", "on_hand", "reserved", "incoming"
            )
        ),
        StockMovement.objects.count(),
        OutboxEvent.objects.count(),
        sorted(Transfer.objects.values_list("pk", "status", "shipped_at", "received_at")),
        sorted(
            TransferLine.objects.values_list(
                "pk", "variant_id", "quantity", "quantity_received", "discrepancy"
            )
        ),
        sorted(Location.objects.values_list("code", flat=True)),
    )


def test_a_transfer_moves_stock_from_the_origin_through_transit_to_the_destination(
    shop, stocked_variant, django_user_model
):
    clerk = django_user_model.objects.create(username="clerk")
    tee = stocked_variant(warehouse=10, sku="TEE")

    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 4)], user=clerk
    )

    assert transfer.status == "draft"
    assert str(transfer) == f"TR{transfer.pk:06d}"
    assert rows(transfer) == []
    assert level(tee, shop.warehouse) == (10, 0, 0)

    transfer_ship(transfer=transfer, user=clerk)

    transit = Location.objects.get(code="transit")
    assert (transit.name, transit.kind, transit.is_active) == ("In transit", "transit", True)
    assert level(tee, shop.warehouse) == (6, 0, 0)
    assert level(tee, transit) == (4, 0, 0)
    assert level(tee, shop.store) == (0, 0, 4)
    assert rows(transfer) == [
        ("TEE", "warehouse", -4, 6, "transfer_out"),
        ("TEE", "transit", 4, 4, "transfer_in"),
    ]
    transfer.refresh_from_db()
    assert transfer.status == "shipped"
    assert transfer.shipped_at is not None
    assert transfer.received_at is None

    transfer_receive(transfer=transfer, quantities={tee.pk: 4}, user=clerk)

    assert level(tee, shop.warehouse) == (6, 0, 0)
    assert level(tee, transit) == (0, 0, 0)
    assert level(tee, shop.store) == (4, 0, 0)
    assert rows(transfer)[2:] == [  # locations are taken in id order
        ("TEE", "paris", 4, 4, "transfer_in"),
        ("TEE", "transit", -4, 0, "transfer_out"),
    ]
    assert set(
        StockMovement.objects.filter(source_id=str(transfer.pk)).values_list(
            "created_by", flat=True
        )
    ) == {clerk.pk}
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert transfer.received_at is not None
    assert list(transfer.lines.values_list("quantity", "quantity_received", "discrepancy")) == [
        (4, 4, 0)
    ]
    assert_ledger_invariant()


def test_a_variant_listed_twice_becomes_one_line_with_the_sum(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=10), stocked_variant(warehouse=10)

    transfer = transfer_create(
        from_location=shop.warehouse,
        to_location=shop.store,
        lines=[(tee.pk, 2), (cap.pk, 1), (tee.pk, 3)],
        note="restock",
    )

    assert transfer.note == "restock"
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == [
        (tee.pk, 5),
        (cap.pk, 1),
    ]


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("same location", TransferSameLocation),
        ("no lines", TransferEmpty),
        ("zero quantity", InvalidQuantity),
        ("negative quantity", InvalidQuantity),
        ("inactive destination", TransferLocationUnusable),
        ("from transit", TransferLocationUnusable),
        ("unknown variant", VariantUnknown),
    ],
)
def test_a_transfer_that_makes_no_sense_is_refused_and_nothing_is_created(
    shop, stocked_variant, case, error
):
    tee = stocked_variant(warehouse=5)
    closed = LocationFactory(code="closed", is_active=False)
    transit = LocationFactory(code="transit", kind="transit")
    arguments = {
        "same location": {"to_location": shop.warehouse},
        "no lines": {"lines": []},
        "zero quantity": {"lines": [(tee.pk, 0)]},
        "negative quantity": {"lines": [(tee.pk, 2), (tee.pk, -1)]},
        "inactive destination": {"to_location": closed},
        "from transit": {"from_location": transit},
        "unknown variant": {"lines": [(tee.pk, 1), (tee.pk + 1000, 1)]},
    }[case]
    before = snapshot()

    with pytest.raises(error):
        transfer_create(
            **{
                "from_location": shop.warehouse,
                "to_location": shop.store,
                "lines": [(tee.pk, 1)],
                **arguments,
            }
        )

    assert snapshot() == before
    assert Transfer.objects.count() == 0


def test_the_messages_name_the_problem(shop, stocked_variant):
    tee = stocked_variant(warehouse=5)

    with pytest.raises(TransferSameLocation) as same:
        transfer_create(from_location=shop.store, to_location=shop.store, lines=[(tee.pk, 1)])
    with pytest.raises(InvalidQuantity) as zero:
        transfer_create(from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 0)])

    assert same.value.message == "A transfer goes from one location to another; both are Paris."
    assert same.value.http_status == 400
    assert zero.value.message == "Quantity must be a whole number above zero (got 0)."


def test_partial_receipts_leave_the_rest_expected_until_everything_arrives(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=10, sku="TEE"), stocked_variant(warehouse=10, sku="CAP")
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 5), (cap.pk, 3)]
    )
    transfer_ship(transfer=transfer)
    transit = Location.objects.get(code="transit")

    transfer_receive(transfer=transfer, quantities={tee.pk: 2})

    transfer.refresh_from_db()
    assert transfer.status == "partially_received"
    assert transfer.received_at is None
    assert level(tee, shop.store) == (2, 0, 3)
    assert level(cap, shop.store) == (0, 0, 3)
    assert level(tee, transit) == (3, 0, 0)

    transfer_receive(transfer=transfer, quantities={tee.pk: 1, cap.pk: 0})
    transfer_receive(transfer=transfer, quantities={tee.pk: 2, cap.pk: 3})

    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert level(tee, shop.store) == (5, 0, 0)
    assert level(cap, shop.store) == (3, 0, 0)
    assert level(tee, transit) == (0, 0, 0)
    assert level(cap, transit) == (0, 0, 0)
    assert sorted(transfer.lines.values_list("quantity", "quantity_received")) == [
        (3, 3),
        (5, 5),
    ]
    assert [r for r in rows(transfer) if r[1] == "paris"] == [
        ("TEE", "paris", 2, 2, "transfer_in"),
        ("TEE", "paris", 1, 3, "transfer_in"),
        ("TEE", "paris", 2, 5, "transfer_in"),  # one receipt: rows in variant order
        ("CAP", "paris", 3, 3, "transfer_in"),
    ]
    assert_ledger_invariant()


def test_receiving_more_than_is_outstanding_changes_nothing(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=10, sku="TEE"), stocked_variant(warehouse=10, sku="CAP")
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 5), (cap.pk, 3)]
    )
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, quantities={tee.pk: 2})
    before = snapshot()

    with pytest.raises(TransferReceiptExceedsOutstanding) as raised:
        transfer_receive(transfer=transfer, quantities={cap.pk: 1, tee.pk: 4})

    assert raised.value.details == {"sku": "TEE", "requested": 4, "outstanding": 3}
    assert raised.value.message == "Only 3 of TEE are still expected; 4 received."
    assert snapshot() == before


@pytest.mark.parametrize("case", ["not on the transfer", "unknown", "negative", "nothing"])
def test_a_receipt_that_makes_no_sense_changes_nothing(shop, stocked_variant, case):
    tee = stocked_variant(warehouse=10, sku="TEE")
    other = VariantFactory(sku="OTHER")
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 5)]
    )
    transfer_ship(transfer=transfer)
    quantities, error = {
        "not on the transfer": ({tee.pk: 1, other.pk: 1}, VariantNotOnTransfer),
        "unknown": ({other.pk + 1000: 1}, VariantUnknown),
        "negative": ({tee.pk: -1}, InvalidQuantity),
        "nothing": ({tee.pk: 0}, ReceiptEmpty),
    }[case]
    before = snapshot()

    with pytest.raises(error) as raised:
        transfer_receive(transfer=transfer, quantities=quantities)

    assert snapshot() == before
    if case == "not on the transfer":
        assert raised.value.details == {"transfer": str(transfer), "skus": ["OTHER"]}


def test_closing_records_the_discrepancy_and_writes_the_lost_units_off_from_transit(
    shop, stocked_variant
):
    tee, cap = stocked_variant(warehouse=10, sku="TEE"), stocked_variant(warehouse=10, sku="CAP")
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 5), (cap.pk, 2)]
    )
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, quantities={tee.pk: 3})
    transit = Location.objects.get(code="transit")

    transfer_close(transfer=transfer)

    transfer.refresh_from_db()
    assert transfer.status == "closed"
    assert sorted(
        transfer.lines.values_list("variant__sku", "quantity", "quantity_received", "discrepancy")
    ) == [("CAP", 2, 0, 2), ("TEE", 5, 3, 2)]
    assert level(tee, transit) == (0, 0, 0)
    assert level(cap, transit) == (0, 0, 0)
    assert level(tee, shop.store) == (3, 0, 0)
    assert level(cap, shop.store) == (0, 0, 0)
    assert level(tee, shop.warehouse) == (5, 0, 0)
    write_offs = StockMovement.objects.filter(
        source_id=str(transfer.pk), reason="adjustment"
    ).order_by("variant_id")
    assert [(m.variant_id, m.location_id, m.quantity, m.note) for m in write_offs] == [
        (tee.pk, transit.pk, -2, f"transfer TR{transfer.pk:06d} discrepancy"),
        (cap.pk, transit.pk, -2, f"transfer TR{transfer.pk:06d} discrepancy"),
    ]
    assert_ledger_invariant()


def test_shipping_without_the_stock_names_the_sku_and_changes_nothing(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=5, sku="TEE"), stocked_variant(warehouse=1, sku="CAP")
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 2), (cap.pk, 3)]
    )
    before = snapshot()

    with pytest.raises(InsufficientStock) as raised:
        transfer_ship(transfer=transfer)

    assert raised.value.details == {
        "sku": "CAP",
        "location": "Warehouse",
        "requested": 3,
        "available": 1,
    }
    assert snapshot() == before
    transfer.refresh_from_db()
    assert transfer.status == "draft"
    assert not Location.objects.filter(code="transit").exists()


def test_units_promised_to_reservations_are_not_shipped(shop, stocked_variant):
    tee = stocked_variant(warehouse=5, sku="TEE")
    stock_reserve(variant_id=tee.pk, location_id=shop.warehouse.pk, quantity=4)
    too_many = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 2)]
    )
    before = snapshot()

    with pytest.raises(InsufficientStock) as raised:
        transfer_ship(transfer=too_many)

    assert raised.value.details["available"] == 1
    assert snapshot() == before

    just_enough = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 1)]
    )
    transfer_ship(transfer=just_enough)

    assert level(tee, shop.warehouse) == (4, 4, 0)
    assert_ledger_invariant()


def test_safety_stock_may_be_shipped(shop, stocked_variant):
    tee = stocked_variant(warehouse=3)
    StockLevel.objects.filter(variant=tee, location=shop.warehouse).update(safety=3)
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 3)]
    )

    transfer_ship(transfer=transfer)

    assert level(tee, shop.warehouse) == (0, 0, 0)


def _draft(shop, variant):
    return transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(variant.pk, 1)]
    )


def _shipped(shop, variant):
    transfer = _draft(shop, variant)
    return transfer_ship(transfer=transfer)


def _received(shop, variant):
    transfer = _shipped(shop, variant)
    return transfer_receive(transfer=transfer, quantities={variant.pk: 1})


def _closed(shop, variant):
    return transfer_close(transfer=_shipped(shop, variant))


def _cancelled(shop, variant):
    return transfer_cancel(transfer=_draft(shop, variant))


@pytest.mark.parametrize(
    ("state", "operation"),
    [
        (_shipped, "ship"),
        (_received, "ship"),
        (_cancelled, "ship"),
        (_draft, "receive"),
        (_received, "receive"),
        (_closed, "receive"),
        (_draft, "close"),
        (_received, "close"),
        (_closed, "close"),
        (_shipped, "cancel"),
        (_received, "cancel"),
        (_cancelled, "cancel"),
        (_shipped, "edit"),
    ],
)
def test_an_operation_the_status_does_not_allow_is_an_invalid_transition(
    shop, stocked_variant, state, operation
):
    tee = stocked_variant(warehouse=10)
    transfer = state(shop, tee)
    status = transfer.status
    before = snapshot()
    call = {
        "ship": lambda: transfer_ship(transfer=transfer),
        "receive": lambda: transfer_receive(transfer=transfer, quantities={tee.pk: 1}),
        "close": lambda: transfer_close(transfer=transfer),
        "cancel": lambda: transfer_cancel(transfer=transfer),
        "edit": lambda: transfer_line_set(transfer=transfer, variant_id=tee.pk, quantity=3),
    }[operation]

    with pytest.raises(TransferInvalidTransition) as raised:
        call()

    assert isinstance(raised.value, InvalidTransition)
    assert raised.value.code == "invalid_transition"
    assert raised.value.http_status == 409
    assert raised.value.details["status"] == status
    assert raised.value.details["action"] == operation
    assert snapshot() == before


def test_shipping_twice_says_why(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    transfer = _shipped(shop, tee)

    with pytest.raises(TransferInvalidTransition) as raised:
        transfer_ship(transfer=transfer)

    assert raised.value.message == (
        f"TR{transfer.pk:06d} is shipped: it can be shipped only when draft."
    )
    assert level(tee, shop.warehouse) == (9, 0, 0)


def test_the_lines_of_a_draft_can_be_changed_added_and_removed(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=10), stocked_variant(warehouse=10)
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 1)]
    )

    transfer_line_set(transfer=transfer, variant_id=tee.pk, quantity=4)
    transfer_line_set(transfer=transfer, variant_id=cap.pk, quantity=2)
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == [
        (tee.pk, 4),
        (cap.pk, 2),
    ]

    transfer_line_set(transfer=transfer, variant_id=tee.pk, quantity=0)
    assert list(transfer.lines.values_list("variant_id", "quantity")) == [(cap.pk, 2)]

    with pytest.raises(InvalidQuantity):
        transfer_line_set(transfer=transfer, variant_id=cap.pk, quantity=-1)
    transfer_line_set(transfer=transfer, variant_id=cap.pk, quantity=0)
    with pytest.raises(TransferEmpty):
        transfer_ship(transfer=transfer)
    assert StockMovement.objects.filter(source_id=str(transfer.pk)).count() == 0


def test_a_draft_can_be_cancelled_and_nothing_moves(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    transfer = _draft(shop, tee)
    ledger = StockMovement.objects.count()

    transfer_cancel(transfer=transfer)

    transfer.refresh_from_db()
    assert transfer.status == "cancelled"
    assert StockMovement.objects.count() == ledger
    assert level(tee, shop.warehouse) == (10, 0, 0)


def test_receiving_everything_outstanding_after_a_partial_receipt(shop, stocked_variant):
    tee, cap = stocked_variant(warehouse=10), stocked_variant(warehouse=10)
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(tee.pk, 5), (cap.pk, 2)]
    )
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, quantities={tee.pk: 2})

    transfer_receive_all(transfer=transfer)

    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert level(tee, shop.store) == (5, 0, 0)
    assert level(cap, shop.store) == (2, 0, 0)


def test_every_transfer_travels_through_the_same_transit_location(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    other_store = LocationFactory(code="lyon", kind="store")

    _shipped(shop, tee)
    transfer_ship(
        transfer=transfer_create(
            from_location=shop.warehouse, to_location=other_store, lines=[(tee.pk, 2)]
        )
    )

    [transit] = Location.objects.filter(kind="transit")
    assert transit.code == "transit"
    assert level(tee, transit) == (3, 0, 0)
    assert level(tee, shop.store) == (0, 0, 1)
    assert level(tee, other_store) == (0, 0, 2)


def test_an_unusable_transit_location_is_reported_and_nothing_moves(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    LocationFactory(code="transit", kind="warehouse", name="Not transit")
    transfer = _draft(shop, tee)
    before = snapshot()

    with pytest.raises(TransitLocationUnusable) as raised:
        transfer_ship(transfer=transfer)

    assert raised.value.message == (
        "The location with code “transit” must be an active in-transit location to carry "
        "transfers; it is warehouse."
    )
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_two_clerks_shipping_the_same_transfer_at_once_ship_it_once(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    transfer = _draft(shop, tee)
    transfer_line_set(transfer=transfer, variant_id=tee.pk, quantity=6)
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def ship(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = transfer_ship(transfer=Transfer.objects.get(pk=transfer.pk))
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()

    assert sorted(type(o).__name__ for o in outcomes) == [
        "Transfer",
        "TransferInvalidTransition",
    ], outcomes
    assert level(tee, shop.warehouse) == (4, 0, 0)
    assert StockMovement.objects.filter(reason="transfer_out", variant=tee).count() == 1
    assert_ledger_invariant()


def test_the_destination_hears_when_it_expects_more_or_less(shop, stocked_variant):
    tee = stocked_variant(warehouse=10)
    transfer = _draft(shop, tee)

    transfer_ship(transfer=transfer)
    transfer_close(transfer=transfer)

    incoming = OutboxEvent.objects.filter(topic="stock.changed", payload__reason="incoming")
    assert [e.payload for e in incoming.order_by("id")] == [
        {"variant_ids": [tee.pk], "location_ids": [shop.store.pk], "reason": "incoming"},
        {"variant_ids": [tee.pk], "location_ids": [shop.store.pk], "reason": "incoming"},
    ]
    assert level(tee, shop.store) == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_transfers_shipped_both_ways_at_once_never_deadlock(shop, stocked_variant):
    tee = stocked_variant(warehouse=100, store=100)
    cap = stocked_variant(warehouse=100, store=100)
    transit = LocationFactory(code="transit", name="In transit", kind="transit")
    ways = [(shop.warehouse, shop.store), (shop.store, shop.warehouse)] * 6
    transfers = [
        transfer_create(from_location=a, to_location=b, lines=[(tee.pk, 1), (cap.pk, 1)])
        for a, b in ways
    ]
    barrier = threading.Barrier(len(transfers))
    outcomes: list = [None] * len(transfers)

    def ship(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = transfer_ship(transfer=transfers[index])
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(i,)) for i in range(len(transfers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()

    assert [type(o).__name__ for o in outcomes] == ["Transfer"] * len(transfers), outcomes
    assert level(tee, shop.warehouse) == (94, 0, 6)
    assert level(tee, shop.store) == (94, 0, 6)
    assert level(tee, transit) == (12, 0, 0)
    assert_ledger_invariant()
