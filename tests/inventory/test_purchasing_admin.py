"""The purchasing back-office: suppliers, purchase orders (through the services), the
receive page, replenishment rules and the low-stock list."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from inventory.models import (
    PurchaseOrder,
    ReplenishmentRule,
    StockAlert,
    StockLevel,
    StockMovement,
    SupplierItem,
)
from inventory.services.purchasing import (
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
)
from inventory.services.replenishment import replenishment_check
from inventory.services.stock import stock_receive, stock_sell
from tests.factories import UserFactory
from tests.inventory.test_purchasing import SupplierFactory, SupplierItemFactory, snapshot

Status = PurchaseOrder.Status


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def supplier(db):
    return SupplierFactory(code="acme", name="Acme", lead_time_days=4)


@pytest.fixture
def sold(supplier, stocked_variant):
    def make(cost: str = "4.50", **fields):
        variant = stocked_variant(**fields)
        SupplierItemFactory(supplier=supplier, variant=variant, unit_cost_amount=Decimal(cost))
        return variant

    return make


def url(name: str, *args) -> str:
    return reverse(f"admin:inventory_{name}", args=args)


def lines_formset(rows: list[dict], *, initial: int = 0) -> dict:
    """The POST data of the purchase-order lines inline."""
    data = {
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {f"lines-{index}-{key}": value for key, value in row.items()}
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_every_purchasing_page_opens(admin_client, shop, supplier, sold):
    variant = sold(store=1)
    rule = ReplenishmentRule.objects.create(
        variant=variant, location=shop.store, minimum=5, maximum=10
    )
    replenishment_check(variant_ids=[variant.pk], location_ids=[shop.store.pk])
    draft = PurchaseOrder.objects.get()
    sent = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(variant.pk, 2)]
    )
    purchase_order_send(order=sent)
    alert = StockAlert.objects.get()
    item = SupplierItem.objects.get()

    pages = [
        url("supplier_changelist"),
        url("supplier_add"),
        url("supplier_change", supplier.pk),
        url("supplieritem_changelist"),
        url("supplieritem_change", item.pk),
        url("replenishmentrule_changelist"),
        url("replenishmentrule_add"),
        url("replenishmentrule_change", rule.pk),
        url("stockalert_changelist"),
        url("stockalert_change", alert.pk),
        url("purchaseorder_changelist"),
        url("purchaseorder_add"),
        url("purchaseorder_change", draft.pk),
        url("purchaseorder_change", sent.pk),
        url("purchaseorder_receive", sent.pk),
        url("purchaseorder_history", sent.pk),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page

    sent_page = admin_client.get(url("purchaseorder_change", sent.pk)).content.decode()
    assert "Receive everything outstanding" in sent_page
    assert url("purchaseorder_receive", sent.pk) in sent_page
    assert 'name="_save"' not in sent_page  # a sent order is only looked at
    draft_page = admin_client.get(url("purchaseorder_change", draft.pk)).content.decode()
    assert url("purchaseorder_transition", draft.pk, "send") in draft_page
    assert 'name="lines-0-quantity_ordered"' in draft_page


def test_a_purchase_order_is_created_in_the_admin_with_its_lines(
    admin_client, manager, shop, supplier, sold, stocked_variant
):
    a = sold("3.10")
    unlisted = stocked_variant()

    response = admin_client.post(
        url("purchaseorder_add"),
        {
            "supplier": supplier.pk,
            "location": shop.warehouse.pk,
            "note": "autumn",
            **lines_formset(
                [
                    {"variant": a.pk, "quantity_ordered": "12", "unit_cost_amount": ""},
                    {"variant": unlisted.pk, "quantity_ordered": "2", "unit_cost_amount": "8.5"},
                    {"variant": "", "quantity_ordered": "", "unit_cost_amount": ""},
                ]
            ),
        },
    )

    order = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response.url == url("purchaseorder_change", order.pk)
    assert (order.status, order.location, order.note, order.created_by) == (
        Status.DRAFT,
        shop.warehouse,
        "autumn",
        manager,
    )
    assert sorted(
        order.lines.values_list("variant_id", "quantity_ordered", "unit_cost_amount")
    ) == (sorted([(a.pk, 12, Decimal("3.10")), (unlisted.pk, 2, Decimal("8.50"))]))
    assert LogEntry.objects.filter(object_id=str(order.pk)).count() == 1


@pytest.mark.parametrize("problem", ["no lines", "unpriced variant", "zero quantity", "draft"])
def test_the_add_form_refuses_bad_orders_with_a_message_and_creates_nothing(
    admin_client, shop, supplier, sold, stocked_variant, problem
):
    variant = sold()
    unlisted = stocked_variant()
    if problem == "draft":
        existing = purchase_order_create(
            supplier=supplier, location=shop.store, lines=[(variant.pk, 1)]
        )
    rows = {
        "no lines": [{"variant": "", "quantity_ordered": "", "unit_cost_amount": ""}],
        "unpriced variant": [{"variant": unlisted.pk, "quantity_ordered": "1"}],
        "zero quantity": [{"variant": variant.pk, "quantity_ordered": "0"}],
        "draft": [{"variant": variant.pk, "quantity_ordered": "3"}],
    }[problem]
    before = snapshot()

    response = admin_client.post(
        url("purchaseorder_add"),
        {"supplier": supplier.pk, "location": shop.store.pk, "note": "", **lines_formset(rows)},
    )

    assert response.status_code == 200
    page = response.content.decode()
    expected = {
        "no lines": "A purchase order needs at least one line.",
        "unpriced variant": f"Acme does not sell {unlisted.sku}: give a unit cost",
        "zero quantity": "Ensure this value is greater than or equal to 1.",
        "draft": f"{existing if problem == 'draft' else ''} is already the draft purchase order",
    }[problem]
    assert expected in page
    assert snapshot() == before


def test_draft_lines_are_changed_removed_and_added_through_the_change_form(
    admin_client, shop, supplier, sold
):
    a, b, c = sold("1.00"), sold("2.00"), sold("3.00")
    order = purchase_order_create(
        supplier=supplier, location=shop.store, lines=[(a.pk, 5), (b.pk, 6)]
    )
    line_a, line_b = order.lines.order_by("id")

    response = admin_client.post(
        url("purchaseorder_change", order.pk),
        {
            "note": "revised",
            **lines_formset(
                [
                    {
                        "id": line_a.pk,
                        "order": order.pk,
                        "variant": a.pk,
                        "quantity_ordered": "9",
                        "unit_cost_amount": "1.00",
                    },
                    {
                        "id": line_b.pk,
                        "order": order.pk,
                        "variant": b.pk,
                        "quantity_ordered": "6",
                        "unit_cost_amount": "2.00",
                        "DELETE": "on",
                    },
                    {"order": order.pk, "variant": c.pk, "quantity_ordered": "4"},
                ],
                initial=2,
            ),
        },
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.note == "revised"
    assert sorted(
        order.lines.values_list("variant_id", "quantity_ordered", "unit_cost_amount")
    ) == (sorted([(a.pk, 9, Decimal("1.00")), (c.pk, 4, Decimal("3.00"))]))


def test_a_sent_order_cannot_be_edited_in_the_form(admin_client, shop, supplier, sold):
    variant = sold()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])
    purchase_order_send(order=order)
    before = snapshot()

    response = admin_client.post(url("purchaseorder_change", order.pk), {"note": "changed"})

    assert response.status_code == 403
    assert snapshot() == before


def test_the_list_actions_send_receive_and_cancel_through_the_services(
    admin_client, shop, supplier, sold
):
    variant = sold()
    one = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])
    two = purchase_order_create(supplier=supplier, location=shop.warehouse, lines=[(variant.pk, 3)])
    changelist = url("purchaseorder_changelist")

    sent = admin_client.post(
        changelist, {"action": "send_orders", "_selected_action": [one.pk, two.pk]}, follow=True
    )
    assert messages_of(sent) == [f"{one} is now sent.", f"{two} is now sent."]
    levels = StockLevel.objects.filter(variant=variant)
    assert sorted(levels.values_list("location_id", "incoming")) == sorted(
        [(shop.store.pk, 5), (shop.warehouse.pk, 3)]
    )

    received = admin_client.post(
        changelist, {"action": "receive_orders", "_selected_action": [one.pk]}, follow=True
    )
    cancelled = admin_client.post(
        changelist, {"action": "cancel_orders", "_selected_action": [two.pk]}, follow=True
    )

    assert messages_of(received) == [f"{one} is now received."]
    assert messages_of(cancelled) == [f"{two} is now cancelled."]
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, two.status) == (Status.RECEIVED, Status.CANCELLED)
    assert sorted(levels.values_list("location_id", "on_hand", "incoming")) == sorted(
        [(shop.store.pk, 5, 0), (shop.warehouse.pk, 0, 0)]
    )
    assert StockMovement.objects.filter(reason="receipt", source_id=str(one.pk)).count() == 1


def test_an_action_the_table_refuses_shows_its_message_and_changes_nothing(
    admin_client, shop, supplier, sold
):
    variant = sold()
    draft = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])
    before = snapshot()

    received = admin_client.post(
        url("purchaseorder_changelist"),
        {"action": "receive_orders", "_selected_action": [draft.pk]},
        follow=True,
    )
    button = admin_client.post(
        url("purchaseorder_transition", draft.pk, "receive_all"), follow=True
    )

    assert received.status_code == button.status_code == 200
    assert messages_of(received) == [f"{draft}: {draft} is draft: it cannot be received."]
    assert messages_of(button) == [f"{draft}: {draft} is draft: it cannot be received."]
    assert snapshot() == before


def test_the_order_buttons_send_and_cancel_and_refuse_get(admin_client, shop, supplier, sold):
    variant = sold()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])

    assert admin_client.get(url("purchaseorder_transition", order.pk, "send")).status_code == 405
    assert (
        admin_client.post(url("purchaseorder_transition", order.pk, "explode")).status_code == 403
    )
    sent = admin_client.post(url("purchaseorder_transition", order.pk, "send"))
    order.refresh_from_db()
    assert (sent.status_code, sent.url) == (302, url("purchaseorder_change", order.pk))
    assert order.status == Status.SENT
    assert order.expected_on is not None

    admin_client.post(url("purchaseorder_transition", order.pk, "cancel"))

    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert StockLevel.objects.get(variant=variant, location=shop.store).incoming == 0


def test_the_receive_page_records_a_partial_then_the_full_receipt(
    admin_client, shop, supplier, sold
):
    a, b = sold(), sold()
    order = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(a.pk, 10), (b.pk, 4)]
    )
    purchase_order_send(order=order)
    line_a, line_b = order.lines.order_by("id")
    page = admin_client.get(url("purchaseorder_receive", order.pk)).content.decode()
    assert f'name="line_{line_a.pk}"' in page
    assert 'value="10"' in page  # filled with what is outstanding

    partial = admin_client.post(
        url("purchaseorder_receive", order.pk),
        {f"line_{line_a.pk}": "6", f"line_{line_b.pk}": "0", "note": "truck 1"},
        follow=True,
    )

    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    assert messages_of(partial) == [f"{order}: receipt recorded, now partially received."]
    level_a = StockLevel.objects.get(variant=a, location=shop.warehouse)
    assert (level_a.on_hand, level_a.incoming) == (6, 4)
    assert StockMovement.objects.get(variant=a, reason="receipt").note == "truck 1"

    admin_client.post(
        url("purchaseorder_receive", order.pk),
        {f"line_{line_a.pk}": "4", f"line_{line_b.pk}": "4"},
    )

    order.refresh_from_db()
    assert order.status == Status.RECEIVED
    assert admin_client.get(url("purchaseorder_receive", order.pk)).status_code == 302


@pytest.mark.parametrize("problem", ["more than outstanding", "nothing", "negative"])
def test_the_receive_page_refuses_a_bad_receipt_with_a_form_error(
    admin_client, shop, supplier, sold, problem
):
    a, b = sold(), sold()
    order = purchase_order_create(
        supplier=supplier, location=shop.warehouse, lines=[(a.pk, 10), (b.pk, 4)]
    )
    purchase_order_send(order=order)
    line_a, line_b = order.lines.order_by("id")
    data = {
        "more than outstanding": {f"line_{line_a.pk}": "2", f"line_{line_b.pk}": "5"},
        "nothing": {f"line_{line_a.pk}": "0", f"line_{line_b.pk}": "0"},
        "negative": {f"line_{line_a.pk}": "-1", f"line_{line_b.pk}": "1"},
    }[problem]
    before = snapshot()

    response = admin_client.post(url("purchaseorder_receive", order.pk), data)

    assert response.status_code == 200
    expected = {
        "more than outstanding": (
            f"Only 4 of {b.sku} are still expected on {order}; 5 cannot be received."
        ),
        "nothing": "Type the quantity received on at least one line.",
        "negative": "Ensure this value is greater than or equal to 0.",
    }[problem]
    assert expected in response.content.decode()
    assert snapshot() == before


def test_the_low_stock_list_shows_open_alerts_by_default_with_their_draft(
    admin_client, shop, supplier, sold
):
    low, restocked = sold(store=8), sold(store=8)
    for variant in (low, restocked):
        ReplenishmentRule.objects.create(
            variant=variant, location=shop.store, minimum=5, maximum=20
        )
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 6)])
    replenishment_check(variant_ids=[low.pk, restocked.pk], location_ids=[shop.store.pk])
    stock_receive(variant_id=restocked.pk, location_id=shop.store.pk, quantity=10)
    replenishment_check(variant_ids=[restocked.pk], location_ids=[shop.store.pk])
    draft = PurchaseOrder.objects.get(status=Status.DRAFT)

    default = admin_client.get(url("stockalert_changelist"))
    resolved = admin_client.get(url("stockalert_changelist") + "?status=resolved")
    every = admin_client.get(url("stockalert_changelist") + "?status=all")

    assert [a.rule.variant for a in default.context["cl"].result_list] == [low]
    assert [a.rule.variant for a in resolved.context["cl"].result_list] == [restocked]
    assert every.context["cl"].result_count == 2
    page = default.content.decode()
    assert "Low stock alerts" in page
    assert f'<a href="{url("purchaseorder_change", draft.pk)}">{draft}</a>' in page
    at_paris = admin_client.get(
        url("stockalert_changelist") + f"?rule__location__id__exact={shop.warehouse.pk}"
    )
    assert at_paris.context["cl"].result_count == 0


def test_stock_alerts_cannot_be_added_changed_or_deleted_in_the_admin(
    admin_client, shop, supplier, sold
):
    variant = sold(store=1)
    ReplenishmentRule.objects.create(variant=variant, location=shop.store, minimum=5, maximum=9)
    replenishment_check(variant_ids=[variant.pk], location_ids=[shop.store.pk])
    alert = StockAlert.objects.get()

    assert admin_client.get(url("stockalert_add")).status_code == 403
    assert admin_client.post(url("stockalert_change", alert.pk), {"note": "x"}).status_code == 403
    assert admin_client.post(url("stockalert_delete", alert.pk), {"post": "yes"}).status_code == 403
    alert.refresh_from_db()
    assert (alert.note, alert.resolved_at) == ("", None)


def test_a_rule_saved_below_its_minimum_raises_its_alert_at_once(
    admin_client, shop, supplier, sold
):
    variant = sold(store=2)

    response = admin_client.post(
        url("replenishmentrule_add"),
        {
            "variant": variant.pk,
            "location": shop.store.pk,
            "minimum": "5",
            "maximum": "12",
            "supplier": "",
            "is_active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert f"{variant} is already below its minimum at Paris: alert raised." in (
        messages_of(response)
    )
    alert = StockAlert.objects.get()
    assert alert.purchase_order.lines.get().quantity_ordered == 10


def test_a_rule_whose_maximum_is_not_above_its_minimum_is_refused(admin_client, shop, sold):
    variant = sold(store=2)

    response = admin_client.post(
        url("replenishmentrule_add"),
        {"variant": variant.pk, "location": shop.store.pk, "minimum": "5", "maximum": "5"},
    )

    assert response.status_code == 200
    assert "replenishment_max_above_min" in response.content.decode()
    assert not ReplenishmentRule.objects.exists()


def test_a_second_preferred_supplier_for_a_variant_is_a_form_error(
    admin_client, shop, supplier, sold
):
    variant = sold()
    other = SupplierFactory(code="other", name="Other")

    response = admin_client.post(
        url("supplier_change", other.pk),
        {
            "code": "other",
            "name": "Other",
            "email": "",
            "phone": "",
            "lead_time_days": "7",
            "is_active": "on",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-variant": variant.pk,
            "items-0-supplier_sku": "X1",
            "items-0-unit_cost_amount": "3.00",
            "items-0-currency": "EUR",
            "items-0-is_preferred": "on",
        },
    )

    assert response.status_code == 200
    assert "one_preferred_supplier_per_variant" in response.content.decode()
    assert list(SupplierItem.objects.values_list("supplier_id", flat=True)) == [supplier.pk]


def test_purchase_orders_are_found_by_reference_and_by_sku(admin_client, shop, supplier, sold):
    a, b = sold(), sold()
    one = purchase_order_create(supplier=supplier, location=shop.store, lines=[(a.pk, 1)])
    two = purchase_order_create(supplier=supplier, location=shop.warehouse, lines=[(b.pk, 1)])
    purchase_order_send(order=two)
    purchase_order_receive(order=two, quantities={b.pk: 1})

    by_reference = admin_client.get(url("purchaseorder_changelist") + f"?q={one}")
    by_sku = admin_client.get(url("purchaseorder_changelist") + f"?q={b.sku}")
    received = admin_client.get(url("purchaseorder_changelist") + "?status__exact=received")

    assert list(by_reference.context["cl"].result_list) == [one]
    assert list(by_sku.context["cl"].result_list) == [two]
    assert list(received.context["cl"].result_list) == [two]
    assert received.context["cl"].result_list[0].line_total == Decimal("4.50")


def test_a_service_refusal_after_the_form_checks_is_a_message_not_a_server_error(
    admin_client, shop, supplier, sold, monkeypatch
):
    variant = sold()
    existing = purchase_order_create(
        supplier=supplier, location=shop.store, lines=[(variant.pk, 1)]
    )
    # The other draft appears between the form's check and the save (another buyer).
    monkeypatch.setattr(
        "inventory.admin.purchasing.PurchaseOrderForm.clean", lambda form: form.cleaned_data
    )
    before = snapshot()

    response = admin_client.post(
        url("purchaseorder_add"),
        {
            "supplier": supplier.pk,
            "location": shop.store.pk,
            "note": "",
            **lines_formset([{"variant": variant.pk, "quantity_ordered": "4"}]),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert messages_of(response) == [
        f"{existing} is already the draft purchase order to Acme for Paris: add the lines to it."
    ]
    assert snapshot() == before
    assert not LogEntry.objects.exists()


def test_staff_without_the_change_permission_cannot_receive_or_send(
    client, django_user_model, shop, supplier, sold
):
    viewer = UserFactory(
        username="viewer",
        permissions=["inventory.view_purchaseorder", "inventory.all_locations"],
    )
    django_user_model.objects.filter(pk=viewer.pk).update(is_staff=True)
    client.force_login(django_user_model.objects.get(pk=viewer.pk))
    variant = sold()
    order = purchase_order_create(supplier=supplier, location=shop.store, lines=[(variant.pk, 5)])
    purchase_order_send(order=order)
    before = snapshot()

    page = client.get(url("purchaseorder_change", order.pk))
    assert page.status_code == 200
    assert "Receive everything outstanding" not in page.content.decode()
    assert client.get(url("purchaseorder_receive", order.pk)).status_code == 403
    assert client.post(url("purchaseorder_transition", order.pk, "cancel")).status_code == 403
    assert snapshot() == before
