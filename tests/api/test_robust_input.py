"""Input no operation can use is refused with a 4xx in the API's error shape, never a 500:
a NUL character anywhere, ids beyond what a bigint holds, Unicode digits, unknown
addresses with any method, CSRF refusals."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

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


# --- Unicode digits and huge numbers in query strings -------------------------------------

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # Arabic-Indic digits: isdigit() is True


@pytest.mark.parametrize("page_size", ["²", "١٢", HUGE, "+5", " 5"])
def test_a_product_page_size_that_is_not_ascii_digits_is_a_400(web_api, on_sale, page_size):
    response = web_api.get("/api/v1/products/", {"page_size": page_size})
    error = assert_error(response, 400, "invalid")
    assert set(error["details"]) == {"page_size"}


def test_a_product_page_size_in_ascii_digits_is_taken(web_api, on_sale):
    assert web_api.get("/api/v1/products/", {"page_size": "5"}).status_code == 200


@pytest.mark.parametrize("order", ["²", "١٢", HUGE, "-1"])
def test_a_returns_order_filter_that_is_not_an_id_is_a_400(staff_api, shop, order):
    api = staff_api("orders.view_return")
    error = assert_error(api.get("/api/v1/staff/returns/", {"order": order}), 400, "invalid")
    assert set(error["details"]) == {"order"}


@pytest.mark.parametrize("limit", ["١٢", "²", "+12", " 12", HUGE, "12.0"])
def test_a_stock_changes_limit_that_is_not_ascii_digits_is_a_400(web_api, on_sale, limit):
    """ "١٢" was read as 12 by ``int()``: a limit the client did not write."""
    response = web_api.get("/api/v1/stock/changes/", {"limit": limit})
    error = assert_error(response, 400, "invalid")
    assert set(error["details"]) == {"limit"}


def test_a_stock_changes_limit_in_ascii_digits_is_taken(web_api, on_sale):
    response = web_api.get("/api/v1/stock/changes/", {"limit": "12"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("return_id", [HUGE, str(BIGINT_MAX + 1), "0"])
def test_a_return_id_out_of_range_in_the_settle_address_is_a_404(staff_api, shop, return_id):
    api = staff_api("payments.add_payment")
    response = api.post(f"/api/v1/returns/{return_id}/settle/", {}, format="json")
    assert_error(response, 404, "not_found")


# --- quantities beyond what a line can hold -----------------------------------------------


@pytest.mark.parametrize("quantity", [10**12, 2**63, 1_000_001])
def test_a_huge_transfer_quantity_is_a_400_and_nothing_is_drafted(
    staff_api, shop, on_sale, quantity
):
    from inventory.models import Transfer

    api = staff_api("inventory.change_transfer")
    response = api.post(
        "/api/v1/transfers/",
        {
            "from_location": shop.warehouse.code,
            "to_location": shop.store.code,
            "lines": [{"sku": on_sale.sku, "quantity": quantity}],
        },
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert "lines" in error["details"]
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("quantity", [10**12, 2**63, 10000])
def test_a_huge_order_line_quantity_is_a_400_and_the_line_is_unchanged(
    staff_api, shop, stocked_variant, quantity
):
    from orders.services.carts import cart_create, cart_line_add
    from orders.services.checkout import order_checkout
    from orders.services.checkout_plan import LineChoice

    variant = stocked_variant(warehouse=5, sku="TEE-2")
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1, channel=shop.web)
    order = order_checkout(
        cart=cart,
        channel=shop.web,
        payment_method="pay_later",
        contact_email="camille@example.com",
        shipping_address={
            "name": "Camille",
            "line1": "3 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
        default_choice=LineChoice("ship", shop.warehouse),
    )
    line = order.lines.get()
    api = staff_api("orders.change_order", "orders.view_order")

    response = api.post(
        f"/api/v1/staff/order-lines/{line.pk}/quantity/", {"quantity": quantity}, format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert set(error["details"]) == {"quantity"}
    line.refresh_from_db()
    assert line.quantity == 1


@pytest.mark.parametrize("quantity", [10000, 10**12, 2**63])
def test_the_cart_service_refuses_more_than_9999_on_a_line_whatever_the_face(on_sale, quantity):
    from inventory.exceptions import InvalidQuantity
    from orders.services.carts import cart_create, cart_line_add, cart_line_set_quantity

    cart = cart_create(channel=on_sale.product.publications.first().channel)
    line = cart_line_add(cart=cart, variant=on_sale, quantity=1)

    with pytest.raises(InvalidQuantity):
        cart_line_add(cart=cart, variant=on_sale, quantity=quantity)
    with pytest.raises(InvalidQuantity):
        cart_line_set_quantity(cart=cart, line_id=line.pk, quantity=quantity)

    assert list(cart.lines.values_list("quantity", flat=True)) == [1]


def test_adding_to_a_line_never_takes_it_past_9999(on_sale):
    from inventory.exceptions import InvalidQuantity
    from orders.models import CartEvent
    from orders.services.carts import cart_create, cart_line_add

    cart = cart_create(channel=on_sale.product.publications.first().channel)
    assert cart_line_add(cart=cart, variant=on_sale, quantity=9998).quantity == 9998
    assert cart_line_add(cart=cart, variant=on_sale, quantity=1).quantity == 9999
    events = CartEvent.objects.filter(cart=cart).count()

    with pytest.raises(InvalidQuantity) as refused:
        cart_line_add(cart=cart, variant=on_sale, quantity=1)

    assert refused.value.message == "At most 9999 of an item on one line (got 10000)."
    assert list(cart.lines.values_list("quantity", flat=True)) == [9999]
    assert CartEvent.objects.filter(cart=cart).count() == events


def test_the_cart_api_says_the_line_is_full(web_api, on_sale):
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    lines = f"/api/v1/carts/{cart['token']}/lines/"
    assert web_api.post(lines, {"sku": "TEE-1", "quantity": 9999}, format="json").status_code == 201

    response = web_api.post(lines, {"sku": "TEE-1", "quantity": 1}, format="json")

    error = assert_error(response, 400, "invalid_quantity")
    assert error["message"] == "At most 9999 of an item on one line (got 10000)."
    assert list(Cart.objects.get(token=cart["token"]).lines.values_list("quantity")) == [(9999,)]


# --- the back office, the store credit gateway, barcodes ----------------------------------


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


@pytest.mark.parametrize("ids", ["²,³", "١,٢", f"1,{HUGE}"])
def test_customer_ids_that_are_not_ids_are_no_merge(superuser_client, ids):
    response = superuser_client.get("/admin/customers/customer/merge/", {"ids": ids})
    assert response.status_code == 302
    assert response["Location"] == "/admin/customers/customer/"


@pytest.mark.parametrize("ids", ["²", "١٢", HUGE])
def test_live_stock_level_ids_that_are_not_ids_are_a_400(superuser_client, ids):
    response = superuser_client.get("/admin/inventory/stocklevel/live/", {"ids": ids})
    assert response.status_code == 400
    assert "error" in response.json()


@pytest.mark.parametrize("search", ["PO²", "١٢", "PO" + HUGE])
def test_a_purchase_order_search_in_other_digits_finds_nothing(superuser_client, search):
    response = superuser_client.get("/admin/inventory/purchaseorder/", {"q": search})
    assert response.status_code == 200


@pytest.mark.parametrize("last", ["²", "١٢", HUGE])
def test_the_count_scanner_ignores_a_last_scan_that_is_not_an_id(superuser_client, shop, last):
    from inventory.services.counts import count_start

    count = count_start(location=shop.store, kind="full", user=None)
    scan = reverse("admin:inventory_stockcount_scan", args=[count.pk])
    response = superuser_client.get(scan, {"last": last})
    assert response.status_code == 200
    assert "Last scanned:" not in response.content.decode()


@pytest.mark.parametrize("quantity", ["²", "١٢", HUGE, "-" + HUGE])
def test_a_transfer_line_quantity_that_is_not_a_whole_number_is_a_form_error(
    superuser_client, shop, on_sale, quantity
):
    from inventory.models import Transfer

    response = superuser_client.post(
        "/admin/inventory/transfer/add/",
        {
            "from_location": shop.warehouse.pk,
            "to_location": shop.store.pk,
            "lines": f"TEE-1 {quantity}",
        },
    )
    assert response.status_code == 200
    assert f"Line 1: write a code, then a whole number (“TEE-1 {quantity}”)." in (
        response.content.decode()
    )
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("reference", ["sc_²", "sc_١٢", f"sc_{HUGE}"])
def test_a_store_credit_reference_in_other_digits_is_declined(db, reference):
    from decimal import Decimal

    from payments.gateways.base import Declined
    from payments.gateways.store_credit import StoreCreditGateway

    with pytest.raises(Declined) as declined:
        StoreCreditGateway().refund(
            reference=reference, amount=Decimal("1.00"), currency="EUR", idempotency_key="k"
        )
    assert declined.value.code == "store_credit_reference_unknown"


@pytest.mark.parametrize(
    "code", ["4006381333931".translate(ARABIC), "²006381333931", "400638133393²"]
)
def test_a_barcode_in_other_digits_is_not_a_barcode(code):
    from catalog.barcodes import barcode_problem

    assert barcode_problem("4006381333931") is None
    assert barcode_problem(code) == "a barcode has digits only"


# --- CSV files read back ------------------------------------------------------------------


def test_a_products_export_imported_back_changes_nothing_though_cells_start_like_formulas(
    superuser_client, shop, stocked_variant
):
    """The export quotes a cell a spreadsheet would run ("'=SUM(1,2)"); the import reads
    that quote away, so the name stays "=SUM(1,2)" and not "'=SUM(1,2)"."""
    from catalog.models import Product, Variant
    from inventory.models import ImportJob
    from inventory.services.imports.jobs import import_job_create, import_job_run
    from tests.factories import ProductFactory

    product = ProductFactory(name="=SUM(1,2) tee", brand="@acme")
    stocked_variant(product=product, sku="-TEE-M", attributes={"size": "+M", "colour": "'=red"})
    before = list(
        Variant.objects.values_list("sku", "product__name", "product__brand", "attributes")
    )
    export = superuser_client.get(reverse("admin:inventory_importjob_export_products"))
    body = b"".join(export.streaming_content).decode("utf-8")
    assert "'=SUM(1,2) tee" in body  # what a spreadsheet shows as text

    job = import_job_create(kind="products", filename="products.csv", content=body, user=None)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.status == ImportJob.Status.DONE, job.errors
    assert (job.summary["unchanged"], job.summary["updated"]) == (1, 0)
    assert (
        list(Variant.objects.values_list("sku", "product__name", "product__brand", "attributes"))
        == before
    )
    assert Product.objects.get().name == "=SUM(1,2) tee"


def test_an_unreadable_accept_header_still_gets_the_documented_json(client):
    # Found by the schema fuzzer: "Accept: 2-P$B[" answered an undocumented 406.
    response = client.get("/api/v1/carts/nothing-here/", HTTP_ACCEPT="2-P$B[")

    assert response.status_code != 406
    assert response["Content-Type"].startswith("application/json")
    assert "error" in response.json()
