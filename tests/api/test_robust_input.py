"""Input no operation can use is refused with a 4xx in the API's error shape, never a 500:
a NUL character anywhere, ids beyond what a bigint holds, Unicode digits, unknown
addresses with any method, CSRF refusals."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orders.models import Cart, Order

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # 10**20 - 1: more than a PostgreSQL bigint holds
BIGINT_MAX = 2**63 - 1


def assert_error(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def on_sale(shop, stocked_variant, publish):
    variant = stocked_variant(store=5, warehouse=5, sku="TEE-1")
    publish(variant.product)
    return variant


# --- NUL characters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/?search=tee%00",
        "/api/v1/products/?channel=web%00",
        "/api/v1/variants/TEE%001/stores/",
        "/api/v1/products/1%00/",
    ],
    ids=["product search", "channel code", "SKU in the path", "id in the path"],
)
def test_a_nul_in_the_address_is_a_400(web_api, on_sale, url):
    error = assert_error(web_api.get(url), 400, "null_characters_not_allowed")
    assert error["message"] == "The request contains a NUL character, which is never valid here."


@pytest.mark.parametrize(
    "query",
    ["sku=TEE%00", "location=paris%00"],
    ids=["SKU filter", "location filter"],
)
def test_a_nul_in_a_staff_filter_is_a_400(staff_api, on_sale, query):
    api = staff_api("inventory.view_stocklevel", "inventory.view_channelstock")
    assert_error(api.get(f"/api/v1/stock/levels/?{query}"), 400, "null_characters_not_allowed")


def test_a_nul_in_the_staff_order_filters_is_a_400(staff_api, shop):
    api = staff_api("orders.view_order")
    response = api.get("/api/v1/staff/orders/?channel=we%00b&status=placed")
    assert_error(response, 400, "null_characters_not_allowed")


def test_a_nul_in_a_json_string_is_a_400_and_the_cart_is_not_checked_out(web_api, on_sale):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    web_api.post(f"/api/v1/carts/{cart['token']}/lines/", {"sku": "TEE-1"}, format="json")

    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_in_store", "till_location": "paris\u0000"},
        format="json",
    )

    assert_error(response, 400, "null_characters_not_allowed")
    assert Cart.objects.get(token=cart["token"]).status == "open"
    assert not Order.objects.exists()


def test_an_escaped_backslash_before_u0000_is_not_a_nul(web_api, on_sale):
    """`\\\\u0000` in JSON is a backslash followed by the text "u0000": a search like any."""
    body = json.dumps({"sku": "\\u0000"})
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/lines/", body, content_type="application/json"
    )
    assert_error(response, 400, "invalid")


def test_a_nul_in_a_form_field_is_a_400(web_api, on_sale):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/lines/",
        "sku=TEE-1%00&quantity=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 400, "null_characters_not_allowed")
    assert not Cart.objects.get(token=cart["token"]).lines.exists()


def test_a_nul_in_a_multipart_field_is_a_400(web_api, on_sale):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/lines/", {"location": "paris\x00", "sku": "TEE-1"}
    )
    assert_error(response, 400, "null_characters_not_allowed")
    assert not Cart.objects.get(token=cart["token"]).lines.exists()


def test_a_nul_in_the_api_key_is_a_400(on_sale):
    response = Client().get("/api/v1/products/", HTTP_AUTHORIZATION="Bearer uck_\x00abc")
    assert_error(response, 400, "null_characters_not_allowed")


def test_a_nul_outside_the_api_is_a_plain_400(shop):
    response = Client().get("/pos/login/?next=/pos/%00")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "The request contains a NUL character, which is never valid here."
    )


def test_a_nul_in_a_till_form_is_a_plain_400_and_the_cart_is_unchanged(shop, on_sale):
    seller = Client()
    seller.force_login(shop.seller)
    session = seller.session
    session["pos_register"] = shop.register.pk
    session.save()
    carts_before = list(Cart.objects.values_list("pk", "status"))

    response = seller.post(
        "/pos/sell/", {"action": "scan", "code": "TEE\x00"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    assert list(Cart.objects.values_list("pk", "status")) == carts_before


# --- ids beyond a bigint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "perms"),
    [
        ("post", f"/api/v1/payments/{HUGE}/capture/", ["payments.change_payment"]),
        ("get", f"/api/v1/staff/orders/{HUGE}/", ["orders.view_order"]),
        ("post", f"/api/v1/staff/orders/{BIGINT_MAX + 1}/cancel/", ["orders.change_order"]),
        ("get", f"/api/v1/products/{HUGE}/", []),
        ("get", f"/api/v1/reservations/{HUGE}/", ["inventory.view_reservation"]),
        ("get", f"/api/v1/transfers/{HUGE}/", ["inventory.change_transfer"]),
        ("get", f"/api/v1/webhooks/endpoints/{HUGE}/", ["webhooks.view_webhookendpoint"]),
        ("post", f"/api/v1/payment-links/{HUGE}/cancel/", ["payments.change_paymentlink"]),
        ("get", "/api/v1/products/0/", []),
        ("get", "/api/v1/products/" + "9" * 5000 + "/", []),
    ],
)
def test_an_id_out_of_range_in_the_address_is_a_404(staff_api, shop, method, url, perms):
    api = staff_api(*perms)
    response = getattr(api, method)(url, {}, format="json")
    assert_error(response, 404, "not_found")


def test_the_schema_says_what_an_id_in_the_address_can_be(web_api):
    schema = web_api.get("/api/v1/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/payments/{id}/capture/"]["post"]["parameters"]
    assert {"in": "path", "name": "id", "required": True} | {
        "schema": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}
    } in parameters


def test_a_variant_id_beyond_a_bigint_in_a_body_is_a_400(web_api, on_sale):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/lines/", {"variant_id": int(HUGE)}, format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert "variant_id" in error["details"]
    assert not Cart.objects.get(token=cart["token"]).lines.exists()


@pytest.mark.parametrize("quantity", [10**12, 99999999999, 10000])
def test_a_huge_cart_line_quantity_is_a_400(web_api, on_sale, quantity):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    response = web_api.post(
        f"/api/v1/carts/{cart['token']}/lines/",
        {"sku": "TEE-1", "quantity": quantity},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert set(error["details"]) == {"quantity"}
    assert not Cart.objects.get(token=cart["token"]).lines.exists()


# --- Unicode digits and page sizes --------------------------------------------------------


@pytest.mark.parametrize("page_size", ["²", "١٢", "-1", "0", "1e3", " 5", HUGE])
def test_a_page_size_that_is_not_ascii_digits_is_a_400(staff_api, shop, page_size):
    api = staff_api("orders.view_order")
    response = api.get("/api/v1/staff/orders/", {"page_size": page_size})
    error = assert_error(response, 400, "invalid")
    assert set(error["details"]) == {"page_size"}


def test_a_page_size_in_ascii_digits_pages_and_is_capped(staff_api, shop):
    api = staff_api("orders.view_order")
    assert api.get("/api/v1/staff/orders/", {"page_size": "5"}).status_code == 200
    assert api.get("/api/v1/staff/orders/", {"page_size": "5000"}).status_code == 200


# --- unknown addresses, methods and CSRF ------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_address_is_a_json_404_whatever_the_method(method):
    client = Client(enforce_csrf_checks=True)
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    response = getattr(client, method)("/api/v1/no-such-thing/", **body)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_address_outside_any_api_version_is_a_json_404(method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v2/products/")
    assert_error(response, 404, "not_found")


def test_a_method_an_operation_does_not_take_is_refused_in_the_json_shape(web_api, on_sale):
    response = web_api.delete("/api/v1/products/")
    assert_error(response, (403, 405))


def test_a_csrf_refusal_under_the_api_is_json_and_elsewhere_django_page(rf):
    from unicommerce.api.errors import csrf_failure

    api = csrf_failure(rf.post("/api/v1/carts/"), reason="CSRF cookie not set.")
    error = assert_error(api, 403, "csrf_failed")
    assert error["details"] == {"reason": "CSRF cookie not set."}

    page = csrf_failure(rf.post("/pos/sell/"), reason="CSRF cookie not set.")
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")


def test_a_signed_in_session_posting_without_a_csrf_token_gets_the_json_shape(shop):
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(shop.seller)
    response = staff.post("/api/v1/carts/", "{}", content_type="application/json")
    assert_error(response, 403)
    assert not Cart.objects.exists()
