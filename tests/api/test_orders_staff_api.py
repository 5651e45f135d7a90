"""Staff API for fulfilment and returns: the same services as the admin and the POS,
behind model permissions, with the API's one error shape."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import StockMovement
from orders.models import Fulfilment, Order, Return, Shipment
from tests.factories import LocationFactory, SalesChannelFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from tests.orders.fixtures_fulfilment import level

SHIP, COLLECT = Fulfilment.SHIP, Fulfilment.COLLECT
FULFIL = "orders.change_order"
READ = "orders.view_order"


@pytest.fixture
def fulfiller(staff_api):
    return staff_api(FULFIL, READ)


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_orders_to_fulfil_are_filtered_by_location_kind_and_status(
    shop, stocked_variant, make_order, fulfiller
):
    shirt = stocked_variant(warehouse=5, store=5)
    parcel = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    pickup = make_order(lines=[(shirt, 1, COLLECT, shop.store)])
    done = make_order(lines=[(shirt, 1, "taken_now", shop.store)], channel=shop.store_channel)

    def ids(query: str = "") -> list[int]:
        response = fulfiller.get(f"/api/v1/staff/orders/{query}")
        assert response.status_code == 200, response.content
        return [order["id"] for order in response.json()["results"]]

    assert ids() == [parcel.pk, pickup.pk]
    assert ids("?location=paris") == [pickup.pk]
    assert ids("?kind=ship") == [parcel.pk]
    assert ids("?location=warehouse&kind=collect") == []
    assert ids("?status=fulfilled") == [done.pk]
    assert ids("?status=all") == [parcel.pk, pickup.pk, done.pk]
    listed = fulfiller.get("/api/v1/staff/orders/?kind=collect").json()["results"][0]
    assert listed["reference"] == pickup.reference
    assert listed["shipments"][0]["location"] == "paris"
    assert listed["shipments"][0]["lines"][0]["sku"] == shirt.sku
    assert listed["total"] == {"amount": "19.90", "currency": "EUR"}
    assert error_of(fulfiller.get("/api/v1/staff/orders/?status=lost")) == (400, "invalid")


def test_the_order_list_costs_the_same_queries_for_more_orders(
    shop, stocked_variant, make_order, fulfiller
):
    shirt, socks = stocked_variant(warehouse=20), stocked_variant(store=20)
    make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 1, COLLECT, shop.store)])
    fulfiller.get("/api/v1/staff/orders/")  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as one:
        assert fulfiller.get("/api/v1/staff/orders/").status_code == 200
    for _ in range(4):
        make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 1, COLLECT, shop.store)])
    with CaptureQueriesContext(connection) as five:
        response = fulfiller.get("/api/v1/staff/orders/")
    assert len(response.json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_permissions(shop, stocked_variant, make_order, staff_api, web_api, client):
    order = make_order(lines=[(stocked_variant(warehouse=1), 1, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    assert client.get("/api/v1/staff/orders/").status_code in (401, 403)
    assert error_of(staff_api().get("/api/v1/staff/orders/"))[0] == 403
    assert error_of(web_api.post(f"/api/v1/staff/shipments/{shipment.pk}/pick/"))[0] == 403
    assert error_of(staff_api(FULFIL).get("/api/v1/staff/returns/"))[0] == 403
    assert Shipment.objects.get(pk=shipment.pk).status == "pending"


def test_pick_pack_ship_over_the_api(shop, stocked_variant, make_order, fulfiller):
    shirt = stocked_variant(warehouse=3)
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    base = f"/api/v1/staff/shipments/{shipment.pk}"

    assert error_of(fulfiller.post(f"{base}/pack/")) == (409, "shipment_transition_refused")
    picked = fulfiller.post(f"{base}/pick/", {"channel": "store-paris"}, format="json")
    assert picked.status_code == 200, picked.content
    assert picked.json()["status"] == "processing"
    assert fulfiller.post(f"{base}/pack/").json()["shipments"][0]["status"] == "packed"
    assert error_of(fulfiller.post(f"{base}/ship/", {"carrier": "DHL"}, format="json")) == (
        400,
        "invalid",
    )

    shipped = fulfiller.post(
        f"{base}/ship/",
        {"carrier": "DHL", "tracking_number": "JD014600"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="ship-1",
    )
    again = fulfiller.post(
        f"{base}/ship/",
        {"carrier": "DHL", "tracking_number": "JD014600"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="ship-1",
    )

    assert shipped.status_code == 200, shipped.content
    body = shipped.json()
    assert body["status"] == "fulfilled"
    assert (body["shipments"][0]["carrier"], body["shipments"][0]["tracking_number"]) == (
        "DHL",
        "JD014600",
    )
    assert again.json() == body
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.filter(reason="sale", variant=shirt).count() == 1
    assert level(shirt, shop.warehouse) == (1, 0)
    picking = Order.objects.get(pk=order.pk).events.get(kind="shipment_picking")
    assert (picking.actor, picking.channel) == (fulfiller.user, shop.store_channel)


def test_click_and_collect_over_the_api(shop, stocked_variant, make_order, fulfiller):
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], phone="+33612345678")
    shipment = order.shipments.get()
    base = f"/api/v1/staff/shipments/{shipment.pk}"

    ready = fulfiller.post(f"{base}/ready/")
    assert ready.status_code == 200, ready.content
    assert ready.json()["shipments"][0]["has_pickup_code"] is True
    code = Shipment.objects.get(pk=shipment.pk).pickup_code
    assert code not in ready.content.decode()

    wrong = fulfiller.post(f"{base}/collect/", {"code": "x" + code}, format="json")
    assert error_of(wrong) == (400, "pickup_code_wrong")
    assert Shipment.objects.get(pk=shipment.pk).status == "ready"
    assert level(bag, shop.store) == (2, 1)

    collected = fulfiller.post(f"{base}/collect/", {"code": code}, format="json")
    assert collected.status_code == 200, collected.content
    assert collected.json()["status"] == "fulfilled"
    assert level(bag, shop.store) == (1, 0)


def test_cancel_and_edit_over_the_api(shop, stocked_variant, make_order, fulfiller):
    shirt, socks = stocked_variant(warehouse=3, store=1), stocked_variant(warehouse=3)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 1, SHIP, shop.warehouse)])
    shirt_line, socks_line = order.lines.get(variant=shirt), order.lines.get(variant=socks)
    lines = "/api/v1/staff/order-lines"

    grown = fulfiller.post(f"{lines}/{shirt_line.pk}/quantity/", {"quantity": 3}, format="json")
    assert grown.status_code == 200, grown.content
    assert grown.json()["total"]["amount"] == "79.60"
    too_many = fulfiller.post(f"{lines}/{shirt_line.pk}/quantity/", {"quantity": 4})
    assert error_of(too_many) == (409, "insufficient_stock")
    assert error_of(fulfiller.post(f"{lines}/{shirt_line.pk}/quantity/", {"quantity": -1})) == (
        400,
        "invalid",
    )
    removed = fulfiller.post(f"{lines}/{socks_line.pk}/quantity/", {"quantity": 0})
    assert removed.json()["total"]["amount"] == "59.70"
    assert level(socks, shop.warehouse) == (3, 0)

    short = fulfiller.post(f"{lines}/{shirt_line.pk}/relocate/", {"location": "paris"})
    assert error_of(short) == (409, "insufficient_stock")  # only 1 in Paris
    assert error_of(fulfiller.post(f"{lines}/{shirt_line.pk}/relocate/", {"location": "x"})) == (
        400,
        "invalid",
    )
    assert error_of(fulfiller.post(f"{lines}/999999/relocate/", {"location": "paris"}))[0] == 404

    cancelled = fulfiller.post(
        f"/api/v1/staff/orders/{order.pk}/cancel/", {"reason": "Out of time"}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["events"][-1]["to_status"] == "cancelled"
    assert level(shirt, shop.warehouse) == (3, 0)
    assert error_of(fulfiller.post(f"/api/v1/staff/orders/{order.pk}/cancel/")) == (
        409,
        "order_not_cancellable",
    )


def test_returns_over_the_api(shop, stocked_variant, make_order, fulfiller, staff_api):
    shirt = stocked_variant(warehouse=3)
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    line = order.lines.get()
    fulfiller.post(
        f"/api/v1/staff/shipments/{order.shipments.get().pk}/ship/",
        {"carrier": "DHL", "tracking_number": "1"},
        format="json",
    )
    clerk = staff_api("orders.add_return", "orders.view_return")
    payload = {
        "order": order.pk,
        "channel": "store-paris",
        "receiving_location": "paris",
        "outcome": "store_credit",
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "wrong_size"}],
    }

    created = clerk.post("/api/v1/staff/returns/", payload, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["is_cross_channel"], body["amount"], body["settlement"]) == (
        True,
        "19.90",
        "pending",
    )
    assert body["lines"][0]["restock_location"] == "paris"
    assert level(shirt, shop.store) == (1, 0)

    too_many = clerk.post(
        "/api/v1/staff/returns/",
        {**payload, "lines": [{"order_line": line.pk, "quantity": 2, "reason": "other"}]},
        format="json",
    )
    assert error_of(too_many) == (409, "return_quantity_exceeded")
    assert too_many.json()["error"]["details"]["lines"][0]["returnable"] == 1
    twice = clerk.post(
        "/api/v1/staff/returns/",
        {**payload, "lines": payload["lines"] * 2},
        format="json",
    )
    assert error_of(twice) == (400, "return_line_duplicate")
    assert error_of(clerk.post("/api/v1/staff/returns/", {**payload, "lines": []}, format="json"))[
        0
    ] in (400,)
    assert Return.objects.count() == 1

    listed = clerk.get(f"/api/v1/staff/returns/?order={order.pk}&cross_channel=true").json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    assert clerk.get("/api/v1/staff/returns/?cross_channel=false").json()["results"] == []


def test_the_schema_documents_the_staff_endpoints_and_their_errors(client, db):
    SalesChannelFactory(code="web")
    LocationFactory(code="warehouse")
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    collect = schema["paths"]["/api/v1/staff/shipments/{id}/collect/"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(collect["responses"])
    returns = schema["paths"]["/api/v1/staff/returns/"]
    assert {"get", "post"} <= set(returns)
    assert "409" in returns["post"]["responses"]
    assert "/api/v1/staff/orders/" in schema["paths"]
