"""Stock counts: snapshot, scanner-friendly entry, variance report, posting as ledger rows,
accuracy. Every negative case also checks that nothing changed."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from catalog.exceptions import UnknownCode
from inventory.exceptions import (
    CountKindInvalid,
    CountLocationInactive,
    CountNothingCounted,
    CountQuantityInvalid,
    CountVariantsNotAllowed,
    CountVariantsRequired,
    InsufficientStock,
)
from inventory.models import StockCount, StockCountLine, StockLevel, StockMovement
from inventory.services.counts import (
    CountInvalidTransition,
    count_cancel,
    count_post,
    count_record,
    count_start,
    count_variance,
)
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_receive, stock_sell
from tests.factories import LocationFactory, VariantFactory
from unicommerce.events.models import OutboxEvent


def on_hand(variant, location) -> int:
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return found.on_hand if found else 0


def lines(count) -> list[tuple[str, int, int | None]]:
    return list(
        count.lines.order_by("variant__sku").values_list("variant__sku", "expected", "counted")
    )


def count_rows(count) -> list[tuple[str, int, int, str, str]]:
    return [
        (m.variant.sku, m.quantity, m.on_hand_after, m.reason, m.note)
        for m in StockMovement.objects.filter(
            source_type__model="stockcount", source_id=str(count.pk)
        )
        .select_related("variant")
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
    return (
        sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand", "reserved")),
        StockMovement.objects.count(),
        OutboxEvent.objects.count(),
        sorted(StockCount.objects.values_list("pk", "status", "posted_at", "accuracy")),
        sorted(StockCountLine.objects.values_list("pk", "variant_id", "expected", "counted")),
    )


@pytest.fixture
def shelf(shop, stocked_variant):
    """Three products in the store (5, 3 and 4 units), one only in the warehouse."""
    return {
        "A": stocked_variant(store=5, warehouse=2, sku="A", price_amount=Decimal("19.90")),
        "B": stocked_variant(store=3, sku="B", price_amount=Decimal("10.00")),
        "C": stocked_variant(store=4, sku="C", price_amount=Decimal("2.50")),
        "W": stocked_variant(warehouse=7, sku="W"),
    }


def test_a_full_count_snapshots_every_product_the_location_has_stock_of(shop, shelf):
    stock_sell(location_id=shop.store.pk, lines=[(shelf["C"].pk, 4)])  # a level at 0

    count = count_start(location=shop.store, kind="full", note="year end")

    assert (count.status, count.kind, count.note, count.accuracy) == (
        "open",
        "full",
        "year end",
        None,
    )
    assert str(count) == f"CNT{count.pk:06d}"
    assert lines(count) == [("A", 5, None), ("B", 3, None), ("C", 0, None)]
    assert count_rows(count) == []


def test_a_cycle_count_snapshots_only_the_products_asked_for(shop, shelf):
    count = count_start(
        location=shop.store, kind="cycle", variant_ids=[shelf["B"].pk, shelf["W"].pk, shelf["B"].pk]
    )

    assert lines(count) == [("B", 3, None), ("W", 0, None)]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"kind": "cycle"}, CountVariantsRequired),
        ({"kind": "cycle", "variant_ids": []}, CountVariantsRequired),
        ({"kind": "full", "variant_ids": ["B"]}, CountVariantsNotAllowed),
        ({"kind": "weekly"}, CountKindInvalid),
        ({"kind": "full", "location": "closed"}, CountLocationInactive),
    ],
)
def test_a_count_that_makes_no_sense_is_not_started(shop, shelf, arguments, error):
    arguments = dict(arguments)
    if arguments.get("location") == "closed":
        arguments["location"] = LocationFactory(code="closed", is_active=False)
    if "variant_ids" in arguments:
        arguments["variant_ids"] = [shelf[sku].pk for sku in arguments["variant_ids"]]
    before = snapshot()

    with pytest.raises(error):
        count_start(**{"location": shop.store, **arguments})

    assert snapshot() == before


def test_each_scan_adds_one_and_a_quantity_sets_the_count(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    a = shelf["A"]

    for _ in range(3):
        count_record(count=count, code=a.barcode)
    count_record(count=count, code="b")  # the SKU works too, in any case
    count_record(count=count, code="C", quantity=7)
    count_record(count=count, code=" C ", quantity=0)

    assert lines(count) == [("A", 5, 3), ("B", 3, 1), ("C", 4, 0)]


def test_a_product_outside_the_snapshot_gets_a_line_expecting_its_current_stock(shop, shelf):
    count = count_start(location=shop.store, kind="cycle", variant_ids=[shelf["A"].pk])
    stock_receive(variant_id=shelf["B"].pk, location_id=shop.store.pk, quantity=2)
    newcomer = VariantFactory(sku="NEW")

    count_record(count=count, code="B")
    count_record(count=count, code="NEW", quantity=2)

    assert lines(count) == [("A", 5, None), ("B", 5, 1), ("NEW", 0, 2)]
    assert not StockLevel.objects.filter(variant=newcomer).exists()


def test_an_unknown_barcode_is_refused_and_nothing_changes(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A")
    before = snapshot()

    with pytest.raises(UnknownCode) as raised:
        count_record(count=count, code="0000000000000")

    assert raised.value.message == "No product has the barcode or SKU “0000000000000”."
    assert raised.value.http_status == 404
    assert snapshot() == before


@pytest.mark.parametrize("quantity", [-1, 1.5, "3", True])
def test_a_counted_quantity_is_a_whole_number_of_zero_or_more(shop, shelf, quantity):
    count = count_start(location=shop.store, kind="full")
    before = snapshot()

    with pytest.raises(CountQuantityInvalid):
        count_record(count=count, code="A", quantity=quantity)

    assert snapshot() == before


def test_the_variance_report_values_each_difference_at_the_price(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A", quantity=3)
    count_record(count=count, code="B", quantity=3)

    rows = count_variance(count=count)

    assert [(r.sku, r.expected, r.counted, r.variance, r.value) for r in rows] == [
        ("A", 5, 3, -2, Decimal("-39.80")),
        ("B", 3, 3, 0, Decimal("0.00")),
        ("C", 4, None, -4, Decimal("-10.00")),  # a full count posts it as 0
    ]
    assert rows[0].variant == shelf["A"]
    assert rows[0].currency == "EUR"


def test_in_a_cycle_count_the_report_leaves_lines_not_counted_alone(shop, shelf):
    count = count_start(
        location=shop.store, kind="cycle", variant_ids=[shelf["A"].pk, shelf["B"].pk]
    )
    count_record(count=count, code="A")

    rows = count_variance(count=count)

    assert [(r.sku, r.counted, r.variance, r.value) for r in rows] == [
        ("A", 1, -4, Decimal("-79.60")),
        ("B", None, None, None),
    ]


def test_posting_a_full_count_writes_one_count_row_per_difference(shop, shelf, django_user_model):
    counter = django_user_model.objects.create(username="counter")
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A", quantity=5)  # matches
    count_record(count=count, code="B", quantity=2)  # one missing
    extra = VariantFactory(sku="D")
    count_record(count=count, code="D", quantity=1)  # found, not in the books
    # C is never counted: in a full count it counts as 0

    count_post(count=count, user=counter)

    count.refresh_from_db()
    assert count.status == "posted"
    assert count.posted_by == counter
    assert count.posted_at is not None
    assert lines(count) == [("A", 5, 5), ("B", 3, 2), ("C", 4, 0), ("D", 0, 1)]
    assert count_rows(count) == [
        ("B", -1, 2, "count", str(count)),
        ("C", -4, 0, "count", str(count)),
        ("D", 1, 1, "count", str(count)),
    ]
    assert StockMovement.objects.filter(source_id=str(count.pk), created_by=counter).count() == 3
    assert (on_hand(shelf["A"], shop.store), on_hand(shelf["B"], shop.store)) == (5, 2)
    assert (on_hand(shelf["C"], shop.store), on_hand(extra, shop.store)) == (0, 1)
    assert on_hand(shelf["A"], shop.warehouse) == 2  # another location is not touched
    assert count.accuracy == Decimal("25.00")  # 1 of 4 lines matched
    assert_ledger_invariant()


def test_posting_a_cycle_count_leaves_lines_not_counted_alone(shop, shelf):
    count = count_start(
        location=shop.store,
        kind="cycle",
        variant_ids=[shelf["A"].pk, shelf["B"].pk, shelf["C"].pk],
    )
    count_record(count=count, code="A", quantity=6)
    count_record(count=count, code="B", quantity=3)

    count_post(count=count)

    count.refresh_from_db()
    assert lines(count) == [("A", 5, 6), ("B", 3, 3), ("C", 4, None)]
    assert count_rows(count) == [("A", 1, 6, "count", str(count))]
    assert on_hand(shelf["C"], shop.store) == 4
    assert count.accuracy == Decimal("50.00")


def test_sales_during_the_count_are_not_undone_by_posting(shop, shelf):
    count = count_start(location=shop.store, kind="cycle", variant_ids=[shelf["A"].pk])
    count_record(count=count, code="A", quantity=4)  # one unit missing from the books' 5
    stock_sell(location_id=shop.store.pk, lines=[(shelf["A"].pk, 2)])  # on hand 3

    count_post(count=count)

    assert count_rows(count) == [("A", -1, 2, "count", str(count))]
    assert on_hand(shelf["A"], shop.store) == 2
    assert_ledger_invariant()


def test_posting_twice_is_refused_and_changes_nothing(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A", quantity=1)
    count_post(count=count)
    before = snapshot()

    with pytest.raises(CountInvalidTransition) as raised:
        count_post(count=count)

    assert raised.value.code == "invalid_transition"
    assert raised.value.http_status == 409
    assert raised.value.message == (
        f"CNT{count.pk:06d} is posted: it can be posted only while counting."
    )
    assert snapshot() == before


def test_a_correction_that_would_take_reserved_units_refuses_the_whole_post(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A", quantity=6)  # posted first (+1), then undone
    # B is never counted (-3, posted second, then undone)
    count_record(count=count, code="C", quantity=0)  # the books say 4
    stock_reserve(variant_id=shelf["C"].pk, location_id=shop.store.pk, quantity=1)
    before = snapshot()

    with pytest.raises(InsufficientStock) as raised:
        count_post(count=count)

    assert raised.value.details == {
        "sku": "C",
        "location": "Paris",
        "requested": 4,
        "available": 3,
    }
    assert snapshot() == before
    assert lines(count) == [("A", 5, 6), ("B", 3, None), ("C", 4, 0)]


@pytest.mark.parametrize(
    ("counted", "accuracy"),
    [((5, 3, 4), "100.00"), ((5, 3, 1), "66.67"), ((4, 2, 1), "0.00"), ((5, 0, 0), "33.33")],
)
def test_accuracy_is_the_share_of_counted_lines_that_matched(shop, shelf, counted, accuracy):
    count = count_start(location=shop.store, kind="full")
    for sku, quantity in zip("ABC", counted, strict=True):
        count_record(count=count, code=sku, quantity=quantity)

    count_post(count=count)

    count.refresh_from_db()
    assert count.accuracy == Decimal(accuracy)


def test_a_count_with_nothing_counted_cannot_be_posted(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    before = snapshot()

    with pytest.raises(CountNothingCounted):
        count_post(count=count)

    assert snapshot() == before


def test_a_posted_or_cancelled_count_takes_no_more_scans(shop, shelf):
    posted = count_start(location=shop.store, kind="full")
    count_record(count=posted, code="A", quantity=5)
    count_post(count=posted)
    cancelled = count_cancel(count=count_start(location=shop.store, kind="full"))
    before = snapshot()

    for count in (posted, cancelled):
        with pytest.raises(CountInvalidTransition):
            count_record(count=count, code="A")
        with pytest.raises(CountInvalidTransition):
            count_cancel(count=count)

    assert cancelled.status == "cancelled"
    assert snapshot() == before


def test_cancelling_an_open_count_writes_nothing(shop, shelf):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="A", quantity=1)
    ledger = StockMovement.objects.count()

    count_cancel(count=count)

    count.refresh_from_db()
    assert count.status == "cancelled"
    assert StockMovement.objects.count() == ledger
    assert on_hand(shelf["A"], shop.store) == 5
