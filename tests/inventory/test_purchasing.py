"""Purchase orders: draft → sent → partially received → received, and cancelled."""

from datetime import timedelta
from decimal import Decimal

import factory
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import Sum
from django.utils import timezone

from inventory.exceptions import (
    DraftPurchaseOrderExists,
    DuplicateLine,
    EmptyPurchaseOrder,
    EmptyReceipt,
    InvalidQuantity,
    InvalidUnitCost,
    PurchaseReceiptExceedsOutstanding,
    PurchaseVariantUnknown,
    SupplierInactive,
    VariantNotOnOrder,
    VariantNotSoldBySupplier,
)
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierItem,
)
from inventory.services.purchasing import (
    PurchaseOrderTransitionRefused,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_set,
    purchase_order_receive,
    purchase_order_receive_outstanding,
    purchase_order_send,
)
from unicommerce.events.models import OutboxEvent

Status = PurchaseOrder.Status


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"supplier-{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")
    lead_time_days = 5


class SupplierItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierItem

    supplier = factory.SubFactory(SupplierFactory)
    supplier_sku = factory.Sequence(lambda n: f"REF-{n}")
    unit_cost_amount = Decimal("4.50")
    is_preferred = True


def level(variant, location) -> tuple[int, int]:
    """(on_hand, incoming) of one level, (0, 0) when it does not exist yet."""
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.incoming) if found else (0, 0)


def assert_every_level_matches_its_ledger() -> None:
    for stock in StockLevel.objects.all():
        total = StockMovement.objects.filter(
            variant_id=stock.variant_id, location_id=stock.location_id
        ).aggregate(total=Sum("quantity"))["total"]
        assert stock.on_hand == (total or 0), stock


def snapshot() -> dict:
    """Everything a refused purchasing operation must leave as it was."""
    return {
        "levels": sorted(
            StockLevel.objects.values_list("variant_id", "location_id", "on_hand", "incoming")
        ),
        "ledger": StockMovement.objects.count(),
        "orders": sorted(PurchaseOrder.objects.values_list("id", "status", "sent_at")),
        "lines": sorted(
            PurchaseOrderLine.objects.values_list(
                "id", "variant_id", "quantity_ordered", "quantity_received", "unit_cost_amount"
            )
        ),
        "events": OutboxEvent.objects.count(),
    }


@pytest.fixture
def supplier(db):
    return SupplierFactory(code="acme", name="Acme", lead_time_days=5)


@pytest.fixture
def sold(supplier, stocked_variant):
    """Make a variant that ``supplier`` sells at ``cost`` (preferred supplier)."""

    def make(cost: str = "4.50", **fields):
        variant = stocked_variant(**fields)
        SupplierItemFactory(supplier=supplier, variant=variant, unit_cost_amount=Decimal(cost))
        return variant

    return make


@pytest.fixture
def sent_order(shop, supplier, sold):
    """A sent order to the warehouse: 10 of ``a``, 4 of ``b``."""
    a, b = sold("3.00"), sold("7.25")
    order = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(a.pk, 10), (b.pk, 4)]
    )
    purchase_order_send(order=order)
    order.refresh_from_db()
    return order, a, b


def test_a_purchase_order_starts_as_a_draft_with_the_suppliers_costs(
    shop, supplier, sold, django_user_model
):
    a, b = sold("3.00"), sold("7.25")
    buyer = django_user_model.objects.create(username="buyer")

    order = purchase_order_create(
        supplier=supplier,
        location=shop.warehouse,
        lines=[(a.pk, 10), (b.pk, 4, Decimal("6.999"))],
        user=buyer,
        note="spring",
    )

    order.refresh_from_db()
    assert (order.status, order.supplier, order.location) == (
        Status.DRAFT,
        supplier,
        shop.warehouse,
    )
    assert (order.created_by, order.note, order.currency) == (buyer, "spring", "EUR")
    assert (order.sent_at, order.expected_on, order.received_at) == (None, None, None)
    assert list(
        order.lines.values_list(
            "variant_id", "quantity_ordered", "quantity_received", "unit_cost_amount"
        )
    ) == [(a.pk, 10, 0, Decimal("3.00")), (b.pk, 4, 0, Decimal("7.00"))]
    assert level(a, shop.warehouse) == (0, 0)  # a draft promises nothing yet
    assert str(order) == f"PO{order.pk:06d}"


@pytest.mark.parametrize(
    ("case", "error", "status"),
    [
        ("inactive supplier", SupplierInactive, 409),
        ("no lines", EmptyPurchaseOrder, 400),
        ("zero quantity", InvalidQuantity, 400),
        ("negative quantity", InvalidQuantity, 400),
        ("not sold by the supplier", VariantNotSoldBySupplier, 400),
        ("same variant twice", DuplicateLine, 400),
        ("unknown variant", PurchaseVariantUnknown, 404),
        ("negative cost", InvalidUnitCost, 400),
        ("float cost", InvalidUnitCost, 400),
    ],
)
def test_creating_an_order_from_bad_input_is_refused_and_changes_nothing(
    shop, supplier, sold, stocked_variant, case, error, status
):
    variant = sold()
    other = stocked_variant()  # the supplier does not sell it
    lines = {
        "inactive supplier": [(variant.pk, 1)],
        "no lines": [],
        "zero quantity": [(variant.pk, 0)],
        "negative quantity": [(variant.pk, -3)],
        "not sold by the supplier": [(other.pk, 2)],
        "same variant twice": [(variant.pk, 1), (variant.pk, 2)],
        "unknown variant": [(variant.pk + 1000, 1)],
        "negative cost": [(variant.pk, 1, Decimal("-1.00"))],
        "float cost": [(variant.pk, 1, 1.5)],
    }[case]
    if case == "inactive supplier":
        Supplier.objects.filter(pk=supplier.pk).update(is_active=False)
    before = snapshot()

    with pytest.raises(error) as raised:
        purchase_order_create(supplier=supplier, location=shop.store, lines=lines)

    assert raised.value.http_status == status
    assert snapshot() == before
    if case == "not sold by the supplier":
        assert raised.value.message == (
            f"Acme does not sell {other.sku}: give a unit cost or add it to the supplier."
        )
        assert raised.value.details == {"sku": other.sku, "supplier": "acme"}


def test_a_variant_the_supplier_does_not_sell_may_be_ordered_at_a_given_cost(
    shop, supplier, stocked_variant
):
    variant = stocked_variant()

    order = purchase_order_create(
        supplier=supplier, location=shop.store, lines=[(variant.pk, 2, Decimal("12.5"))]
    )

    assert list(order.lines.values_list("quantity_ordered", "unit_cost_amount")) == [
        (2, Decimal("12.50"))
    ]


def test_a_second_draft_for_the_same_supplier_and_location_is_refused_naming_the_first(
    shop, supplier, sold
):
    variant = sold()
    first = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 1)])
    before = snapshot()

    with pytest.raises(DraftPurchaseOrderExists) as raised:
        purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])

    assert raised.value.message == (
        f"{first} is already the draft purchase order to Acme for Paris: add the lines to it."
    )
    assert raised.value.details == {"order": str(first), "order_id": first.pk}
    assert snapshot() == before
    # Another location, or the first one sent: a new draft is fine.
    purchase_order_create(supplier=supplier, location=shop.warehouse, lines=[(variant.pk, 1)])
    purchase_order_send(order=first)
    again = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])
    assert again.status == Status.DRAFT
    assert PurchaseOrder.objects.filter(status=Status.DRAFT).count() == 2


def test_draft_lines_are_added_changed_and_removed(shop, supplier, sold, stocked_variant):
    a, b = sold("3.00"), sold("8.00")
    unlisted = stocked_variant()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(a.pk, 2)])

    added = purchase_order_line_set(order=order, variant_id=b.pk, quantity=6)
    changed = purchase_order_line_set(order=order, variant_id=a.pk, quantity=9)
    priced = purchase_order_line_set(
        order=order, variant_id=unlisted.pk, quantity=1, unit_cost=Decimal("2.20")
    )
    kept_cost = purchase_order_line_set(order=order, variant_id=unlisted.pk, quantity=3)
    removed = purchase_order_line_set(order=order, variant_id=b.pk, quantity=0)

    assert (added.quantity_ordered, added.unit_cost_amount) == (6, Decimal("8.00"))
    assert changed.pk == order.lines.get(variant=a).pk
    assert priced.pk == kept_cost.pk
    assert removed is None
    assert sorted(
        order.lines.values_list("variant_id", "quantity_ordered", "unit_cost_amount")
    ) == [
        (a.pk, 9, Decimal("3.00")),
        (unlisted.pk, 3, Decimal("2.20")),
    ]


def test_setting_a_line_is_refused_for_bad_input_and_changes_nothing(
    shop, supplier, sold, stocked_variant
):
    variant = sold()
    unlisted = stocked_variant()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 2)])
    before = snapshot()

    with pytest.raises(InvalidQuantity):
        purchase_order_line_set(order=order, variant_id=variant.pk, quantity=-1)
    with pytest.raises(VariantNotSoldBySupplier):
        purchase_order_line_set(order=order, variant_id=unlisted.pk, quantity=1)
    with pytest.raises(InvalidUnitCost):
        purchase_order_line_set(
            order=order, variant_id=variant.pk, quantity=1, unit_cost=Decimal("-2")
        )
    purchase_order_send(order=order)
    sent = snapshot()
    with pytest.raises(PurchaseOrderTransitionRefused) as raised:
        purchase_order_line_set(order=order, variant_id=variant.pk, quantity=5)

    assert raised.value.message == f"{order} is sent: it cannot be edited."
    assert before["lines"] == sent["lines"] == snapshot()["lines"]


def test_sending_puts_the_ordered_units_in_incoming_and_expects_them_after_the_lead_time(
    shop, supplier, sold
):
    a, b = sold(warehouse=2), sold()
    order = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(a.pk, 10), (b.pk, 4)]
    )
    ledger_before = StockMovement.objects.count()

    sent = purchase_order_send(order=order)

    order.refresh_from_db()
    assert order.status == Status.SENT
    assert order.expected_on == timezone.localdate() + timedelta(days=5)
    assert order.sent_at is not None
    assert sent.status == Status.SENT
    assert level(a, shop.warehouse) == (2, 10)
    assert level(b, shop.warehouse) == (0, 4)
    assert StockMovement.objects.count() == ledger_before  # nothing is on hand yet
    event = OutboxEvent.objects.filter(topic="stock.changed").latest("created_at")
    assert event.payload == {
        "variant_ids": sorted([a.pk, b.pk]),
        "location_ids": [shop.warehouse.pk],
        "reason": "incoming",
    }


def test_partial_then_full_receipt_moves_incoming_to_on_hand_through_the_ledger(
    shop, sent_order, django_user_model
):
    order, a, b = sent_order
    clerk = django_user_model.objects.create(username="clerk")

    purchase_order_receive(order=order, quantities={a.pk: 6}, user=clerk, note="truck 1")

    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    assert order.received_at is None
    assert level(a, shop.warehouse) == (6, 4)
    assert level(b, shop.warehouse) == (0, 4)
    [first] = StockMovement.objects.filter(reason="receipt", variant=a)
    assert (first.quantity, first.on_hand_after, first.location) == (6, 6, shop.warehouse)
    assert first.source_type == ContentType.objects.get_for_model(PurchaseOrder)
    assert (first.source_id, first.created_by, first.note) == (str(order.pk), clerk, "truck 1")

    purchase_order_receive(order=order, quantities={a.pk: 4, b.pk: 4})

    order.refresh_from_db()
    assert order.status == Status.RECEIVED
    assert order.received_at is not None
    assert level(a, shop.warehouse) == (10, 0)
    assert level(b, shop.warehouse) == (4, 0)
    assert list(order.lines.values_list("quantity_ordered", "quantity_received")) == [
        (10, 10),
        (4, 4),
    ]
    receipts = StockMovement.objects.filter(
        reason="receipt", source_id=str(order.pk), source_type__model="purchaseorder"
    )
    assert sorted(receipts.values_list("variant_id", "quantity", "note")) == sorted(
        [(a.pk, 6, "truck 1"), (a.pk, 4, str(order)), (b.pk, 4, str(order))]
    )
    assert_every_level_matches_its_ledger()


def test_receiving_everything_outstanding_completes_the_order(shop, sent_order):
    order, a, b = sent_order
    purchase_order_receive(order=order, quantities={b.pk: 1})

    purchase_order_receive_outstanding(order=order)

    order.refresh_from_db()
    assert order.status == Status.RECEIVED
    assert (level(a, shop.warehouse), level(b, shop.warehouse)) == ((10, 0), (4, 0))
    assert_every_level_matches_its_ledger()


@pytest.mark.parametrize(
    ("quantities", "error"),
    [
        ("more than ordered", PurchaseReceiptExceedsOutstanding),
        ("more than outstanding", PurchaseReceiptExceedsOutstanding),
        ("variant not on the order", VariantNotOnOrder),
        ("zero", InvalidQuantity),
        ("negative", InvalidQuantity),
        ("nothing", EmptyReceipt),
    ],
)
def test_a_bad_receipt_is_refused_and_changes_nothing(
    shop, sent_order, stocked_variant, quantities, error
):
    order, a, b = sent_order
    purchase_order_receive(order=order, quantities={a.pk: 7})
    stranger = stocked_variant()
    quantities = {
        "more than ordered": {b.pk: 5},
        "more than outstanding": {b.pk: 1, a.pk: 4},
        "variant not on the order": {b.pk: 1, stranger.pk: 1},
        "zero": {b.pk: 0},
        "negative": {b.pk: -1},
        "nothing": {},
    }[quantities]
    before = snapshot()

    with pytest.raises(error) as raised:
        purchase_order_receive(order=order, quantities=quantities)

    assert raised.value.http_status == 400
    assert snapshot() == before
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    if error is PurchaseReceiptExceedsOutstanding and b.pk in quantities and len(quantities) == 1:
        assert raised.value.message == (
            f"Only 4 of {b.sku} are still expected on {order}; 5 cannot be received."
        )
        assert raised.value.details == {
            "sku": b.sku,
            "order": str(order),
            "outstanding": 4,
            "requested": 5,
        }
    if error is VariantNotOnOrder:
        assert raised.value.message == f"{stranger.sku} is not on {order}."


def test_transitions_outside_the_table_are_refused_and_change_nothing(shop, supplier, sold):
    variant = sold()
    draft = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 3)])
    received = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(variant.pk, 2)]
    )
    purchase_order_send(order=received)
    purchase_order_receive(order=received, quantities={variant.pk: 2})
    before = snapshot()

    refused = []
    for operation, order in [
        (lambda o: purchase_order_receive(order=o, quantities={variant.pk: 1}), draft),
        (lambda o: purchase_order_send(order=o), received),
        (lambda o: purchase_order_cancel(order=o), received),
        (lambda o: purchase_order_receive(order=o, quantities={variant.pk: 1}), received),
    ]:
        with pytest.raises(PurchaseOrderTransitionRefused) as raised:
            operation(order)
        refused.append(raised.value.message)

    assert refused == [
        f"{draft} is draft: it cannot be received.",
        f"{received} is received: it cannot be sent.",
        f"{received} is received: it cannot be cancelled.",
        f"{received} is received: it cannot be received.",
    ]
    assert snapshot() == before


def test_a_sent_order_cannot_be_sent_again_nor_a_partly_received_one_cancelled(shop, sent_order):
    order, a, _b = sent_order
    with pytest.raises(PurchaseOrderTransitionRefused):
        purchase_order_send(order=order)
    purchase_order_receive(order=order, quantities={a.pk: 1})
    before = snapshot()

    with pytest.raises(PurchaseOrderTransitionRefused) as raised:
        purchase_order_cancel(order=order)

    assert raised.value.details == {
        "order": str(order),
        "status": "partially_received",
        "action": "cancel",
    }
    assert raised.value.http_status == 409
    assert snapshot() == before


def test_sending_an_empty_draft_or_to_an_inactive_supplier_is_refused(shop, supplier, sold):
    variant = sold()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 3)])
    purchase_order_line_set(order=order, variant_id=variant.pk, quantity=0)
    before = snapshot()

    with pytest.raises(EmptyPurchaseOrder):
        purchase_order_send(order=order)
    purchase_order_line_set(order=order, variant_id=variant.pk, quantity=3)
    Supplier.objects.filter(pk=supplier.pk).update(is_active=False)
    with pytest.raises(SupplierInactive):
        purchase_order_send(order=order)

    order.refresh_from_db()
    assert order.status == Status.DRAFT
    assert snapshot()["levels"] == before["levels"]


def test_cancelling_a_sent_order_gives_back_its_incoming(shop, sent_order):
    order, a, b = sent_order
    assert (level(a, shop.warehouse), level(b, shop.warehouse)) == ((0, 10), (0, 4))

    purchase_order_cancel(order=order)

    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert (level(a, shop.warehouse), level(b, shop.warehouse)) == ((0, 0), (0, 0))
    with pytest.raises(PurchaseOrderTransitionRefused):
        purchase_order_receive(order=order, quantities={a.pk: 1})


def test_cancelling_a_draft_touches_no_stock_and_frees_the_draft_slot(shop, supplier, sold):
    variant = sold(store=1)
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 3)])
    before = snapshot()

    purchase_order_cancel(order=order)

    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert snapshot()["levels"] == before["levels"]
    assert snapshot()["events"] == before["events"]
    purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 1)])
