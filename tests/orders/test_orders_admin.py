"""The orders back-office: lists filter and search, pages open, buttons and actions call
the fulfilment services, and refusals are messages or form errors with nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Fulfilment, Order, Return, Shipment
from orders.services.collect import shipment_ready
from orders.services.fulfilment import shipment_ship
from orders.services.returns import return_create
from tests.factories import UserFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from tests.orders.fixtures_fulfilment import level

SHIP, COLLECT = Fulfilment.SHIP, Fulfilment.COLLECT


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


def changelist(admin_client, query: str = "") -> list[Order]:
    response = admin_client.get(reverse("admin:orders_order_changelist") + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_order_list_filters_and_search(shop, stocked_variant, make_order, admin_client):
    shirt = stocked_variant(warehouse=5, store=5, sku="TEE-RED")
    socks = stocked_variant(store=5, sku="SOCK-1")
    parcel = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)], phone="+33699999999")
    pickup = make_order(lines=[(socks, 1, COLLECT, shop.store)], channel=shop.store_channel)

    assert changelist(admin_client, "?fulfilment=collect") == [pickup]
    assert changelist(admin_client, "?fulfilment=ship") == [parcel]
    assert changelist(admin_client, f"?q={parcel.reference}") == [parcel]
    assert changelist(admin_client, "?q=sock-1") == [pickup]
    assert changelist(admin_client, "?q=%2B33699999999") == [parcel]
    assert changelist(admin_client, f"?q={pickup.email}") == [pickup]
    assert changelist(admin_client, f"?channel__id__exact={shop.store_channel.pk}") == [pickup]
    assert set(changelist(admin_client, "?status__exact=placed")) == {parcel, pickup}


def test_order_page_shows_lines_shipments_timeline_and_step_buttons(
    shop, stocked_variant, make_order, admin_client
):
    shirt = stocked_variant(warehouse=5, sku="TEE-RED")
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    shipment = order.shipments.get()

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "TEE-RED" in html
    assert reverse("admin:orders_order_step", args=[order.pk, shipment.pk, "pick"]) in html
    assert reverse("admin:orders_order_ship", args=[order.pk, shipment.pk]) in html
    assert reverse("admin:orders_order_cancel", args=[order.pk]) in html
    assert "admin:orders_order_collect" not in html
    assert reverse("admin:orders_order_step", args=[order.pk, shipment.pk, "ready"]) not in html


def test_step_buttons_call_the_services_and_refusals_are_messages(
    shop, stocked_variant, make_order, admin_client, boss
):
    order = make_order(lines=[(stocked_variant(warehouse=5), 1, SHIP, shop.warehouse)])
    shipment = order.shipments.get()

    def step(action: str):
        url = reverse("admin:orders_order_step", args=[order.pk, shipment.pk, action])
        return admin_client.post(url, follow=True)

    refused = step("pack")
    assert any("cannot be" in m for m in messages_of(refused))
    assert Shipment.objects.get(pk=shipment.pk).status == "pending"

    step("pick")
    step("pack")
    shipment.refresh_from_db()
    assert shipment.status == "packed"
    assert order.events.get(kind="shipment_picking").actor == boss
    assert (
        admin_client.get(
            reverse("admin:orders_order_step", args=[order.pk, shipment.pk, "pick"])
        ).status_code
        == 405
    )


def test_ship_page_asks_for_tracking_and_can_ship_part_of_the_lines(
    shop, stocked_variant, make_order, admin_client
):
    shirt, socks = stocked_variant(warehouse=5), stocked_variant(warehouse=5)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 2, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    url = reverse("admin:orders_order_ship", args=[order.pk, shipment.pk])
    shirt_line = order.lines.get(variant=shirt)

    assert admin_client.get(url).status_code == 200
    missing = admin_client.post(url, {"carrier": "DHL", "lines": [shirt_line.pk]})
    assert missing.status_code == 200
    assert "tracking_number" in missing.context["form"].errors
    assert Shipment.objects.get(pk=shipment.pk).status == "pending"

    done = admin_client.post(
        url, {"carrier": "DHL", "tracking_number": "JD42", "lines": [shirt_line.pk]}
    )

    assert done.status_code == 302
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number) == ("shipped", "JD42")
    assert Order.objects.get(pk=order.pk).status == "partially_fulfilled"
    assert order.shipments.filter(status="pending").get().lines.get().variant == socks
    assert level(shirt, shop.warehouse) == (4, 0)
    assert level(socks, shop.warehouse) == (5, 2)


def test_collect_page_checks_the_pickup_code(shop, stocked_variant, make_order, admin_client):
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], phone="+33612345678")
    shipment = shipment_ready(shipment=order.shipments.get())
    url = reverse("admin:orders_order_collect", args=[order.pk, shipment.pk])
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert url in page.content.decode()
    assert shipment.pickup_code not in page.content.decode()

    wrong = admin_client.post(url, {"code": "nope"})

    assert wrong.status_code == 200
    assert "code" in wrong.context["form"].errors
    assert Shipment.objects.get(pk=shipment.pk).status == "ready"
    assert level(bag, shop.store) == (2, 1)

    right = admin_client.post(url, {"code": shipment.pickup_code})
    assert right.status_code == 302
    assert Shipment.objects.get(pk=shipment.pk).status == "collected"
    assert level(bag, shop.store) == (1, 0)


def test_list_actions_pick_ready_and_cancel(shop, stocked_variant, make_order, admin_client):
    shirt, bag = stocked_variant(warehouse=5), stocked_variant(store=5)
    parcel = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    pickup = make_order(lines=[(bag, 1, COLLECT, shop.store)], phone="+33612345678")
    url = reverse("admin:orders_order_changelist")

    def act(action: str, *orders):
        return admin_client.post(
            url,
            {"action": action, "_selected_action": [o.pk for o in orders]},
            follow=True,
        )

    act("action_pick", parcel, pickup)
    assert Shipment.objects.get(order=parcel).status == "picking"
    assert Shipment.objects.get(order=pickup).status == "picking"
    act("action_ready", parcel, pickup)
    assert Shipment.objects.get(order=parcel).status == "picking"  # a parcel is not collected
    assert Shipment.objects.get(order=pickup).status == "ready"

    act("action_cancel", parcel)
    assert Order.objects.get(pk=parcel.pk).status == "cancelled"
    assert level(shirt, shop.warehouse) == (5, 0)
    refused = act("action_cancel", parcel)
    assert any("no line left to cancel" in m for m in messages_of(refused))


def test_cancel_button(shop, stocked_variant, make_order, admin_client):
    shirt = stocked_variant(warehouse=5)
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    url = reverse("admin:orders_order_cancel", args=[order.pk])

    assert admin_client.get(url).status_code == 405
    admin_client.post(url, {"reason": "Customer asked"})

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.events.get(kind="cancelled").message == "Customer asked"


def test_staff_without_the_change_permission_cannot_act(shop, stocked_variant, make_order, client):
    order = make_order(lines=[(stocked_variant(warehouse=5), 1, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    viewer = UserFactory(permissions=["orders.view_order", "inventory.all_locations"])
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "/do/pick/" not in page.content.decode()
    step = reverse("admin:orders_order_step", args=[order.pk, shipment.pk, "pick"])
    assert client.post(step).status_code == 403
    assert Shipment.objects.get(pk=shipment.pk).status == "pending"


def test_return_admin_lists_and_filters_cross_channel_returns(
    shop, stocked_variant, make_order, admin_client
):
    shirt = stocked_variant(warehouse=5, sku="TEE-RED")
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="1")
    line = order.lines.get()
    in_store = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": line, "quantity": 1, "reason": "wrong_size"}],
        receiving_location=shop.store,
        outcome="refund",
    )
    online = return_create(
        order=order,
        channel=shop.web,
        lines=[{"order_line": line, "quantity": 1, "reason": "damaged"}],
        receiving_location=shop.warehouse,
        outcome="store_credit",
    )
    url = reverse("admin:orders_return_changelist")

    def listed(query: str) -> list[Return]:
        response = admin_client.get(url + query)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert listed("?is_cross_channel__exact=1") == [in_store]
    assert listed("?outcome__exact=store_credit") == [online]
    assert set(listed("?settlement__exact=pending")) == {in_store, online}
    assert set(listed(f"?q={order.reference}")) == {in_store, online}
    page = admin_client.get(reverse("admin:orders_return_change", args=[in_store.pk]))
    assert page.status_code == 200
    assert "wrong" in page.content.decode().lower()
    assert admin_client.get(reverse("admin:orders_return_add")).status_code == 403


def test_cart_admin_still_opens(admin_client, db):
    assert admin_client.get(reverse("admin:orders_cart_changelist")).status_code == 200
