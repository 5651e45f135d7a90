"""Replenishment: low stock against a min/max rule raises an alert and drafts a purchase
order to the supplier; units on the way count; restocking resolves the alert."""

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReplenishmentRule,
    StockAlert,
    StockLevel,
)
from inventory.services.purchasing import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_set,
    purchase_order_receive,
    purchase_order_send,
)
from inventory.services.replenishment import replenishment_check, replenishment_scan_all
from inventory.services.stock import stock_receive, stock_sell
from tests.inventory.test_purchasing import (
    SupplierFactory,
    SupplierItemFactory,
    assert_every_level_matches_its_ledger,
)
from unicommerce.events.models import OutboxEvent
from unicommerce.events.services import event_process

Status = PurchaseOrder.Status


@pytest.fixture
def supplier(db):
    return SupplierFactory(code="acme", name="Acme", lead_time_days=3)


@pytest.fixture
def watched(shop, supplier, stocked_variant):
    """Make a variant with ``store`` units in the store, sold by ``supplier`` (preferred)
    at ``cost``, and a rule keeping 5 to 20 of it in the store."""

    def make(*, store: int = 8, minimum: int = 5, maximum: int = 20, cost: str = "4.00"):
        variant = stocked_variant(store=store)
        SupplierItemFactory(supplier=supplier, variant=variant, unit_cost_amount=Decimal(cost))
        ReplenishmentRule.objects.create(
            variant=variant, location=shop.store, minimum=minimum, maximum=maximum
        )
        return variant

    return make


def check(shop, *variants) -> int:
    return replenishment_check(variant_ids=[v.pk for v in variants], location_ids=[shop.store.pk])


def drafts():
    return PurchaseOrder.objects.filter(status=Status.DRAFT)


def sell(shop, variant, quantity: int) -> None:
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, quantity)])


def test_a_sale_below_the_minimum_raises_one_alert_and_drafts_the_missing_units(
    shop, supplier, watched
):
    variant = watched(store=8, cost="4.00")
    assert check(shop, variant) == 0  # 8 ≥ 5: nothing to do
    sell(shop, variant, 4)

    raised = check(shop, variant)

    assert raised == 1
    [draft] = drafts()
    assert (draft.supplier, draft.location, draft.note) == (
        supplier,
        shop.store,
        "Drafted by replenishment.",
    )
    assert list(draft.lines.values_list("variant_id", "quantity_ordered", "unit_cost_amount")) == [
        (variant.pk, 16, Decimal("4.00"))  # 20 − 4 available
    ]
    [alert] = StockAlert.objects.all()
    assert (alert.rule.variant, alert.rule.location) == (variant, shop.store)
    assert (alert.available, alert.purchase_order, alert.resolved_at, alert.note) == (
        4,
        draft,
        None,
        "",
    )


def test_a_second_sale_raises_the_same_draft_line_with_still_one_draft_and_one_alert(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)

    sell(shop, variant, 3)
    raised = check(shop, variant)
    again = check(shop, variant)  # nothing changed since: nothing to do

    assert (raised, again) == (0, 0)
    [draft] = drafts()
    assert list(draft.lines.values_list("variant_id", "quantity_ordered")) == [(variant.pk, 19)]
    [alert] = StockAlert.objects.all()
    assert (alert.available, alert.purchase_order_id, alert.resolved_at) == (4, draft.pk, None)


def test_variants_low_at_the_same_place_share_their_suppliers_one_draft(shop, watched):
    a, b = watched(store=8), watched(store=6)
    sell(shop, a, 5)
    sell(shop, b, 6)

    assert check(shop, a, b) == 2

    [draft] = drafts()
    assert sorted(draft.lines.values_list("variant_id", "quantity_ordered")) == sorted(
        [(a.pk, 17), (b.pk, 20)]
    )
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 2


def test_units_on_a_sent_order_count_so_no_alert_is_raised(shop, supplier, watched):
    variant = watched(store=8)
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 10)])
    purchase_order_send(order=order)

    sell(shop, variant, 6)  # 2 available + 10 incoming ≥ 5
    raised = check(shop, variant)

    assert raised == 0
    assert not StockAlert.objects.exists()
    assert not drafts().exists()
    assert StockLevel.objects.get(variant=variant, location=shop.store).incoming == 10


def test_sending_the_draft_resolves_the_alert_as_the_units_are_on_their_way(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    [draft] = drafts()

    purchase_order_send(order=draft)
    check(shop, variant)  # what the worker does with the event the sending published

    alert = StockAlert.objects.get()
    assert alert.resolved_at is not None
    assert alert.purchase_order_id == draft.pk


def test_restocking_resolves_the_alert_and_a_later_drop_opens_a_new_one(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    [draft] = drafts()
    purchase_order_send(order=draft)
    purchase_order_cancel(order=draft)  # the supplier cannot deliver after all
    check(shop, variant)
    assert StockAlert.objects.get().resolved_at is None  # 4 available, nothing on the way

    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=6)
    check(shop, variant)

    first = StockAlert.objects.get()
    assert first.resolved_at is not None
    sell(shop, variant, 7)
    assert check(shop, variant) == 1
    assert StockAlert.objects.count() == 2
    reopened = StockAlert.objects.get(resolved_at__isnull=True)
    assert reopened.available == 3
    assert reopened.purchase_order == drafts().get()
    assert drafts().get().lines.get().quantity_ordered == 17


def test_receiving_a_replenishment_order_resolves_the_alert(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    [draft] = drafts()
    purchase_order_send(order=draft)

    purchase_order_receive(order=draft, quantities={variant.pk: 16})
    check(shop, variant)

    level = StockLevel.objects.get(variant=variant, location=shop.store)
    assert (level.on_hand, level.incoming) == (20, 0)
    assert StockAlert.objects.get().resolved_at is not None
    assert_every_level_matches_its_ledger()


def test_without_a_supplier_the_alert_says_so_and_no_order_is_drafted(shop, stocked_variant):
    variant = stocked_variant(store=3)
    ReplenishmentRule.objects.create(variant=variant, location=shop.store, minimum=5, maximum=9)

    assert check(shop, variant) == 1

    alert = StockAlert.objects.get()
    assert alert.purchase_order is None
    assert alert.available == 3
    assert alert.note == (
        "No supplier: set one on the rule or mark a preferred supplier for this variant. "
        "No purchase order drafted."
    )
    assert not PurchaseOrder.objects.exists()


def test_an_inactive_or_priceless_supplier_is_noted_and_nothing_is_drafted(shop, stocked_variant):
    inactive = SupplierFactory(code="gone", name="Gone Ltd", is_active=False)
    priceless = SupplierFactory(code="vague", name="Vague")
    a, b = stocked_variant(store=1), stocked_variant(store=1)
    SupplierItemFactory(supplier=inactive, variant=a)
    ReplenishmentRule.objects.create(variant=a, location=shop.store, minimum=5, maximum=9)
    ReplenishmentRule.objects.create(
        variant=b, location=shop.store, minimum=5, maximum=9, supplier=priceless
    )

    assert check(shop, a, b) == 2

    notes = dict(StockAlert.objects.values_list("rule__variant_id", "note"))
    assert notes == {
        a.pk: "Supplier Gone Ltd is inactive. No purchase order drafted.",
        b.pk: "Vague has no price for this variant. No purchase order drafted.",
    }
    assert not PurchaseOrder.objects.exists()


def test_once_a_supplier_is_set_the_open_alert_gets_its_draft(shop, stocked_variant):
    variant = stocked_variant(store=2)
    rule = ReplenishmentRule.objects.create(
        variant=variant, location=shop.store, minimum=5, maximum=9
    )
    check(shop, variant)
    supplier = SupplierFactory(code="late", name="Late")
    SupplierItemFactory(supplier=supplier, variant=variant, is_preferred=False)
    rule.supplier = supplier
    rule.save()

    assert check(shop, variant) == 0  # the same alert, now with its draft

    alert = StockAlert.objects.get()
    assert (alert.note, alert.purchase_order) == ("", drafts().get(supplier=supplier))
    assert drafts().get().lines.get().quantity_ordered == 7


def test_the_rules_supplier_wins_over_the_preferred_one(shop, supplier, stocked_variant):
    variant = stocked_variant(store=0)
    SupplierItemFactory(supplier=supplier, variant=variant, is_preferred=True)
    chosen = SupplierFactory(code="chosen", name="Chosen")
    SupplierItemFactory(
        supplier=chosen, variant=variant, is_preferred=False, unit_cost_amount=Decimal("9.10")
    )
    ReplenishmentRule.objects.create(
        variant=variant, location=shop.store, minimum=1, maximum=4, supplier=chosen
    )

    replenishment_check(variant_ids=[variant.pk], location_ids=[shop.store.pk])

    [draft] = drafts()
    assert draft.supplier == chosen
    assert draft.lines.get().unit_cost_amount == Decimal("9.10")


def test_a_line_the_buyer_raised_is_never_lowered_by_the_check(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    draft = drafts().get()
    purchase_order_line_set(order=draft, variant_id=variant.pk, quantity=50)

    sell(shop, variant, 1)
    check(shop, variant)

    assert draft.lines.get().quantity_ordered == 50


def test_a_cancelled_draft_is_replaced_and_the_alert_follows(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    first = drafts().get()
    purchase_order_cancel(order=first)

    check(shop, variant)

    second = drafts().get()
    assert second.pk != first.pk
    assert StockAlert.objects.get().purchase_order == second
    assert second.lines.get().quantity_ordered == 16


def test_inactive_rules_raise_nothing_and_their_open_alerts_are_resolved(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)
    check(shop, variant)
    ReplenishmentRule.objects.update(is_active=False)

    sell(shop, variant, 1)
    raised = check(shop, variant)

    assert raised == 0
    assert StockAlert.objects.get().resolved_at is not None
    assert drafts().get().lines.get().quantity_ordered == 16  # left as it was


def test_the_check_runs_through_the_real_outbox_path_of_a_sale(shop, watched):
    variant = watched(store=8)
    OutboxEvent.objects.update(processed_at="2000-01-01T00:00:00Z")  # earlier receipts

    sell(shop, variant, 5)
    event = OutboxEvent.objects.get(topic="stock.changed", processed_at__isnull=True)
    processed = event_process(event_id=event.pk)

    assert processed is True
    event.refresh_from_db()
    assert event.processed_at is not None
    alert = StockAlert.objects.get()
    assert (alert.available, alert.purchase_order) == (3, drafts().get())
    assert drafts().get().lines.get().quantity_ordered == 17
    assert event_process(event_id=event.pk) is False  # a duplicate delivery does nothing
    assert StockAlert.objects.count() == 1


def test_the_check_makes_the_same_number_of_queries_for_1_or_20_variants(
    shop, watched, django_assert_num_queries
):
    one = [watched(store=8)]
    twenty = [watched(store=8) for _ in range(20)]
    for variant in one + twenty:
        sell(shop, variant, 5)

    # savepoint, rules, levels, supplier items, drafts, lines, alerts, release
    with django_assert_num_queries(8):
        assert check(shop, *one) == 1
    with django_assert_num_queries(8):
        assert check(shop, *twenty) == 20
    # and when all is well again: savepoint, rules, levels, resolve, release
    for variant in one + twenty:
        stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=10)
    with django_assert_num_queries(5):
        assert check(shop, *one) == 0
    with django_assert_num_queries(5):
        assert check(shop, *twenty) == 0
    assert not StockAlert.objects.filter(resolved_at__isnull=True).exists()
    assert drafts().get().lines.count() == 21


def test_the_periodic_scan_checks_every_active_rule(shop, supplier, watched, stocked_variant):
    low, fine = watched(store=2), watched(store=9)
    never_stocked = stocked_variant()  # no stock level at all: 0 available
    SupplierItemFactory(supplier=supplier, variant=never_stocked)
    ReplenishmentRule.objects.create(
        variant=never_stocked, location=shop.warehouse, minimum=1, maximum=6
    )

    raised = replenishment_scan_all(batch_size=2)

    assert raised == 2
    assert replenishment_scan_all() == 0  # idempotent
    assert sorted(StockAlert.objects.values_list("rule__variant_id", "available")) == sorted(
        [(low.pk, 2), (never_stocked.pk, 0)]
    )
    lines = PurchaseOrderLine.objects.filter(order__status=Status.DRAFT)
    assert sorted(lines.values_list("order__location_id", "variant_id", "quantity_ordered")) == (
        sorted([(shop.store.pk, low.pk, 18), (shop.warehouse.pk, never_stocked.pk, 6)])
    )
    assert not StockAlert.objects.filter(rule__variant=fine).exists()


# --------------------------------------------------------------------------- concurrency


def run_concurrently(count: int, work) -> list:
    """``count`` threads, each on its own connection, calling ``work(i)`` at once."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_checks_of_one_rule_make_one_draft_and_one_alert(shop, watched):
    variant = watched(store=8)
    sell(shop, variant, 4)

    outcomes = run_concurrently(2, lambda i: check(shop, variant))

    assert sorted(outcomes) == [0, 1], outcomes
    [draft] = drafts()
    assert list(draft.lines.values_list("variant_id", "quantity_ordered")) == [(variant.pk, 16)]
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_of_two_variants_share_one_draft(shop, watched):
    variants = [watched(store=8) for _ in range(6)]
    for variant in variants:
        sell(shop, variant, 4)

    outcomes = run_concurrently(6, lambda i: check(shop, variants[i]))

    assert outcomes == [1] * 6, outcomes
    [draft] = drafts()
    assert sorted(draft.lines.values_list("variant_id", "quantity_ordered")) == sorted(
        (v.pk, 16) for v in variants
    )
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 6
