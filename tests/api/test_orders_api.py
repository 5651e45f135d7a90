"""The front-end cart and order API: shapes, errors, access, idempotency, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory.models import StockLevel
from orders.models import Cart, Order
from tests.access.conftest import customer_token_client as customer_client
from tests.api.conftest import client_with_key
from tests.factories import CustomerFactory, LocationFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}


def new_cart(api) -> dict:
    response = api.post("/api/v1/carts/", {}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def add(api, token, **body):
    return api.post(f"/api/v1/carts/{token}/lines/", body, format="json")


def test_a_web_buyer_fills_identifies_and_checks_out(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5, price_amount="25.00")
    cart = new_cart(web_api)
    assert (cart["status"], cart["channel"], cart["lines"], cart["total_amount"]) == (
        "open",
        "web",
        [],
        "0.00",
    )

    response = add(web_api, cart["token"], sku=variant.sku, quantity=2)
    assert response.status_code == 201
    line = response.json()["lines"][0]
    assert (line["sku"], line["quantity"], line["unit_price"], line["total"]) == (
        variant.sku,
        2,
        "25.00",
        "50.00",
    )
    assert (line["sellable_quantity"], line["is_available"]) == (5, True)

    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/identify/", {"phone": "06 12 34 56 78"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["identified"] is True

    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_in_store", "shipping_address": ADDRESS},
        format="json",
    )
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "placed"
    assert (order["channel"], order["origin_channel"], order["total_amount"]) == (
        "web",
        "web",
        "50.00",
    )
    assert [(ln["fulfilment"], ln["location"], ln["quantity"]) for ln in order["lines"]] == [
        ("ship", "warehouse", 2)
    ]
    assert [(s["kind"], s["location"], s["status"]) for s in order["shipments"]] == [
        ("ship", "warehouse", "pending")
    ]
    assert [e["kind"] for e in order["timeline"]] == ["placed", "awaiting_payment"]
    assert StockLevel.objects.get(variant=variant, location=shop.warehouse).reserved == 2

    detail = web_api.get(f"/api/v1/orders/{order['reference']}/")
    assert detail.status_code == 200
    assert detail.json() == order


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around
def test_the_whole_checkout_flow_costs_a_fixed_small_number_of_queries(
    web_api, shop, stocked_variant
):
    """Create, add, identify, check out (with an Idempotency-Key), auth included: within
    the 43 queries the benchmark allows, 20 for the checkout itself."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    variant = stocked_variant(warehouse=50)
    web_api.get("/api/v1/carts/nothing/")  # the key's last_used_at is written once
    counts = []
    with CaptureQueriesContext(connection) as queries:
        cart = new_cart(web_api)
    counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        assert add(web_api, cart["token"], sku=variant.sku, quantity=1).status_code == 201
    counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        response = web_api.post(
            f"/api/v1/carts/{cart['token']}/identify/", {"phone": "0612345679"}, format="json"
        )
        assert response.status_code == 200
    counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        response = web_api.post(
            f"/api/v1/carts/{cart['token']}/checkout/",
            {"payment_method": "pay_in_store", "shipping_address": ADDRESS},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k-1",
        )
        assert response.status_code == 201, response.json()
    counts.append(len(queries))
    # Every statement counts, BEGIN and COMMIT included (the API key is cached by the
    # process after its first use). create: the cart and its "created" event in one
    # statement | add: cart, variant, one statement for the cart's expiry + event + line,
    # priced lines, offers, stock | identify: cart, the customer (customers' own
    # transaction: BEGIN, select, savepoint, insert, release, COMMIT), cart + event, priced
    # lines, offers, stock | checkout: BEGIN, idempotency record, cart, savepoint, cart
    # lock, priced lines, offers, stock, one statement for order + timeline + cart checked out + its event +
    # outbox, shipments, reservation, lines, payment hand-over, release, timeline read,
    # the record's answer, COMMIT.
    assert (counts[0], counts[1], counts[3]) == (1, 6, 17)
    assert counts[2] <= 11  # the customers app's part may change on its own
    assert sum(counts) <= 43


# --- error shapes ----------------------------------------------------------------------


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return response.status_code, body["error"]["code"]


def test_cart_token_errors_have_the_stable_shape(web_api, shop, staff_api):
    from django.utils import timezone as tz

    from orders.models import Cart
    from unicommerce.channels.services import api_key_create

    assert error_of(web_api.get("/api/v1/carts/unknown/")) == (404, "cart_not_found")
    cart = new_cart(web_api)
    Cart.objects.filter(token=cart["token"]).update(expires_at=tz.now() - timedelta(minutes=1))
    assert error_of(web_api.get(f"/api/v1/carts/{cart['token']}/")) == (410, "cart_expired")

    other = new_cart(web_api)
    _, raw = api_key_create(channel=shop.store_channel, name="till tablet")
    store_api = client_with_key(raw)
    assert error_of(store_api.get(f"/api/v1/carts/{other['token']}/")) == (403, "cart_foreign")


def test_bad_lines_are_refused_with_the_field_named(web_api, stocked_variant):
    stocked_variant(warehouse=1)
    cart = new_cart(web_api)

    response = add(web_api, cart["token"], sku="NOPE", quantity=1)
    assert error_of(response) == (400, "invalid")
    assert "sku" in response.json()["error"]["details"]
    response = add(web_api, cart["token"], quantity=1)
    assert error_of(response) == (400, "invalid")
    assert web_api.get(f"/api/v1/carts/{cart['token']}/").json()["lines"] == []


def test_checkout_errors_unknown_method_missing_address_and_unavailable_lines(
    web_api, shop, stocked_variant
):
    variant = stocked_variant(warehouse=1)
    cart = new_cart(web_api)
    line_id = add(web_api, cart["token"], sku=variant.sku, quantity=3).json()["lines"][0]["id"]
    url = f"/api/v1/carts/{cart['token']}/checkout/"

    response = web_api.post(url, {"payment_method": "bitcoin"}, format="json")
    assert error_of(response) == (400, "unknown_payment_method")
    response = web_api.post(url, {"payment_method": "pay_later"}, format="json")
    assert error_of(response) == (400, "invalid_shipping_address")
    assert response.json()["error"]["details"]["missing"] == [
        "line1",
        "postal_code",
        "city",
        "country",
    ]
    response = web_api.post(
        url, {"payment_method": "pay_later", "shipping_address": ADDRESS}, format="json"
    )
    assert error_of(response) == (409, "lines_unavailable")
    assert [
        (ln["line_id"], ln["requested"], ln["available"])
        for ln in response.json()["error"]["details"]["lines"]
    ] == [(line_id, 3, 1)]
    assert Order.objects.count() == 0
    assert web_api.get(f"/api/v1/carts/{cart['token']}/").json()["status"] == "open"


def test_a_retried_checkout_with_the_same_key_returns_the_same_order_once(
    web_api, shop, stocked_variant
):
    variant = stocked_variant(warehouse=5)
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)
    url = f"/api/v1/carts/{cart['token']}/checkout/"
    body = {"payment_method": "pay_in_store", "shipping_address": ADDRESS}

    first = web_api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = web_api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    other = web_api.post(
        url, {**body, "payment_method": "pay_later"}, format="json", HTTP_IDEMPOTENCY_KEY="order-1"
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert error_of(other) == (422, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=variant, location=shop.warehouse).reserved == 1
    # without the key, a second checkout of the same cart is refused
    assert error_of(web_api.post(url, body, format="json")) == (409, "cart_closed")


# --- lines, identify, fulfilment choices --------------------------------------------------


def test_lines_change_and_go_and_fulfilment_is_chosen(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5, store=2)
    cart = new_cart(web_api)
    line_id = add(web_api, cart["token"], barcode=variant.barcode, quantity=1).json()["lines"][0][
        "id"
    ]
    url = f"/api/v1/carts/{cart['token']}/lines/{line_id}/"

    response = web_api.patch(
        url, {"quantity": 2, "fulfilment": "collect", "location": "paris"}, format="json"
    )
    assert response.status_code == 200
    line = response.json()["lines"][0]
    assert (line["quantity"], line["fulfilment"], line["location"]) == (2, "collect", "paris")
    assert (line["location_quantity"], line["is_available"]) == (2, True)
    response = web_api.patch(url, {"fulfilment": "collect", "location": "warehouse"}, format="json")
    assert error_of(response) == (400, "invalid_fulfilment")

    response = web_api.delete(url)
    assert (response.status_code, response.json()["lines"]) == (200, [])
    assert error_of(web_api.delete(url)) == (404, "cart_line_not_found")


def test_a_signed_in_customer_identifying_merges_into_their_cart_and_gets_the_survivor(
    web_api, shop, stocked_variant
):
    variant = stocked_variant(warehouse=5)
    alice = CustomerFactory(email="a@example.com")
    as_alice = customer_client(alice, shop.web)
    first = new_cart(as_alice)
    add(as_alice, first["token"], sku=variant.sku, quantity=1)
    second = new_cart(web_api)
    add(web_api, second["token"], sku=variant.sku, quantity=2)

    response = as_alice.post(f"/api/v1/carts/{second['token']}/identify/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["token"] == first["token"]
    assert response.json()["lines"][0]["quantity"] == 3
    assert web_api.get(f"/api/v1/carts/{second['token']}/").json()["token"] == first["token"]


def test_a_key_identifying_a_cart_never_reaches_the_customers_own_cart(
    web_api, shop, stocked_variant
):
    variant = stocked_variant(warehouse=5)
    alice = CustomerFactory(email="a@example.com", phone=None)
    as_alice = customer_client(alice, shop.web)
    hers = new_cart(as_alice)
    add(as_alice, hers["token"], sku=variant.sku, quantity=1)
    stranger = new_cart(web_api)
    add(web_api, stranger["token"], sku=variant.sku, quantity=2)

    response = web_api.post(
        f"/api/v1/carts/{stranger['token']}/identify/",
        {"email": "A@example.com", "phone": "06 99 99 99 99"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["token"], response.json()["identified"]) == (stranger["token"], True)
    assert response.json()["lines"][0]["quantity"] == 2
    assert as_alice.get(f"/api/v1/carts/{hers['token']}/").json()["lines"][0]["quantity"] == 1
    alice.refresh_from_db()
    assert alice.phone is None  # the phone typed on a storefront was not written on her
    response = web_api.post(
        f"/api/v1/carts/{stranger['token']}/identify/", {"phone": "12"}, format="json"
    )
    assert error_of(response) == (400, "invalid_phone")


# --- who reads what ------------------------------------------------------------------------


def test_the_store_finishes_a_web_cart_and_both_channels_read_the_order(
    web_api, shop, stocked_variant, staff_api
):
    from unicommerce.channels.services import api_key_create

    variant = stocked_variant(store=3)
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)
    web_api.post(f"/api/v1/carts/{cart['token']}/identify/", {"phone": "0677777777"})
    _, raw = api_key_create(user=shop.seller, name="till script")
    store_api = client_with_key(raw)  # a seller of the Paris store

    response = store_api.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_in_store", "till_location": "paris"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    order = response.json()
    # To be paid in store: the item is held at the till until paid (goods never leave
    # unpaid), so the order is placed, not fulfilled yet.
    assert (order["channel"], order["origin_channel"], order["status"]) == (
        "store-paris",
        "web",
        "placed",
    )
    assert order["timeline"][0]["message"] == (
        "Cart filled on Web store, checked out on Paris store."
    )
    url = f"/api/v1/orders/{order['reference']}/"
    assert web_api.get(url).status_code == 200
    assert store_api.get(url).status_code == 200
    assert staff_api("orders.view_order").get(url).status_code == 200  # head office
    lyon = LocationFactory(code="lyon", kind="store")
    elsewhere = staff_api("orders.view_order", stores=[lyon])
    assert error_of(elsewhere.get(url)) == (404, "order_not_found")
    assert error_of(staff_api().get(url)) == (403, "permission_denied")
    _, other_raw = api_key_create(channel=SalesChannelFactory(code="app"), name="app")
    assert error_of(client_with_key(other_raw).get(url)) == (404, "order_not_found")
    assert error_of(web_api.get("/api/v1/orders/UC99999999/")) == (404, "order_not_found")


def test_a_customer_token_owns_its_carts_and_lists_only_its_orders(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    alice, bob = CustomerFactory(), CustomerFactory()
    as_alice, as_bob = customer_client(alice, shop.web), customer_client(bob, shop.web)

    cart = new_cart(as_alice)
    assert cart["identified"] is True
    add(as_alice, cart["token"], sku=variant.sku, quantity=1)
    assert error_of(as_bob.get(f"/api/v1/carts/{cart['token']}/")) == (403, "cart_foreign")
    response = as_alice.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_later", "shipping_address": ADDRESS},
        format="json",
    )
    assert response.status_code == 201, response.json()
    reference = response.json()["reference"]

    mine = as_alice.get("/api/v1/me/orders/")
    assert mine.status_code == 200
    assert [o["reference"] for o in mine.json()["results"]] == [reference]
    assert as_bob.get("/api/v1/me/orders/").json()["results"] == []
    assert as_alice.get(f"/api/v1/orders/{reference}/").status_code == 200
    assert error_of(as_bob.get(f"/api/v1/orders/{reference}/")) == (404, "order_not_found")
    assert error_of(web_api.get("/api/v1/me/orders/"))[0] in (401, 403)


def test_every_endpoint_is_in_the_schema_with_its_errors(staff_api):
    response = staff_api().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/carts/": {"post": {"201", "400", "403"}},
        "/api/v1/carts/{token}/": {"get": {"200", "404", "410", "403"}},
        "/api/v1/carts/{token}/lines/": {"post": {"201", "400", "404", "409"}},
        "/api/v1/carts/{token}/lines/{line_id}/": {
            "patch": {"200", "400", "404"},
            "delete": {"200", "404"},
        },
        "/api/v1/carts/{token}/identify/": {"post": {"200", "400", "409"}},
        "/api/v1/carts/{token}/checkout/": {"post": {"201", "400", "409", "422"}},
        "/api/v1/orders/{reference}/": {"get": {"200", "404"}},
        "/api/v1/me/orders/": {"get": {"200", "401"}},
    }
    for path, methods in expected.items():
        for method, codes in methods.items():
            assert codes <= set(paths[path][method]["responses"]), (path, method)


def test_the_fast_payloads_are_exactly_what_the_documented_serializers_give(
    web_api, shop, stocked_variant
):
    from orders.api.orders import order_detail_queryset
    from orders.api.serializers import (
        CartOutputSerializer,
        OrderOutputSerializer,
        cart_payload,
        order_payload,
    )
    from orders.selectors import cart_get, cart_view

    variant = stocked_variant(warehouse=5, store=1)
    other = stocked_variant(store=2)
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=2)
    add(web_api, cart["token"], sku=other.sku, quantity=1, fulfilment="collect", location="paris")
    view = cart_view(cart=cart_get(token=cart["token"]), channel=shop.web)
    assert cart_payload(view) == CartOutputSerializer(view).data

    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_later", "shipping_address": ADDRESS},
        format="json",
    )
    order = order_detail_queryset().get(pk=int(response.json()["reference"][2:]))
    assert order_payload(order) == OrderOutputSerializer(order).data
    assert response.json() == OrderOutputSerializer(order).data


def test_a_signed_in_customer_identifies_a_cart_as_themselves_only(web_api, shop):
    alice = CustomerFactory(phone="+33688888888")
    someone = CustomerFactory(email="someone@example.com")
    cart = new_cart(web_api)

    response = customer_client(alice, shop.web).post(
        f"/api/v1/carts/{cart['token']}/identify/", {"email": someone.email}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["identified"] is True
    assert Cart.objects.get(token=cart["token"]).customer_id == alice.pk
