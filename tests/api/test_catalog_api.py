"""The storefront catalog API: products, prices, what each channel may sell, filters."""

from base64 import b64decode
from decimal import Decimal
from urllib.parse import quote_plus

import pytest
from django.http import QueryDict
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Category
from catalog.services import channel_price_set
from inventory.api.serializers import ProductOutputSerializer
from inventory.api.views import ProductPageSerializer
from inventory.models import Reservation, StockLevel
from inventory.services.reservations import stock_reserve
from tests.conftest import run_outbox
from tests.factories import BarcodeFactory, LocationFactory, ProductFactory, VariantFactory
from unicommerce.channels.services import api_key_revoke

URL = "/api/v1/products/"


@pytest.fixture
def tee(shop, stocked_variant, publish):
    tops = Category.objects.create(name="Tops", slug="tops")
    tees = Category.objects.create(name="T-shirts", slug="t-shirts", parent=tops)
    product = ProductFactory(name="Organic tee", brand="Brume", category=tees)
    variant = stocked_variant(
        product=product, sku="TEE-NAVY-M", store=3, warehouse=10, price_amount=Decimal("24.90")
    )
    BarcodeFactory(variant=variant, code="4006381333931")
    publish(product)
    run_outbox()
    return variant


def test_a_channel_key_sees_its_prices_and_what_it_may_sell(web_api, shop, tee):
    StockLevel.objects.filter(variant=tee, location=shop.store).update(reserved=1)
    stock_reserve(variant_id=tee.pk, location_id=shop.warehouse.pk, quantity=2)
    run_outbox()

    response = web_api.get(URL)

    assert response.status_code == 200
    [product] = response.json()["results"]
    assert product == {
        "id": tee.product.pk,
        "name": "Organic tee",
        "brand": "Brume",
        "description": "",
        "category": {"slug": "t-shirts", "name": "T-shirts", "path": ["Tops", "T-shirts"]},
        "vat_rate": "20.0",
        "variants": [
            {
                "id": tee.pk,
                "sku": "TEE-NAVY-M",
                "barcodes": sorted([tee.barcodes.first().code, "4006381333931"]),
                "attributes": {"size": "M"},
                "price": {"amount": "24.90", "currency": "EUR"},
                "availability": {"web": 10},  # 3 - 1 reserved in store, 10 - 2 in warehouse
                "images": [],
            }
        ],
        "images": [],
    }
    assert ProductOutputSerializer(data=product).is_valid(), "the schema documents this shape"
    assert ProductPageSerializer(data=response.json()).is_valid()


def test_staff_see_every_channel_or_the_one_they_ask_for(staff_api, shop, tee):
    api = staff_api("catalog.view_product")
    channel_price_set(variant=tee, channel=shop.web, price_amount=Decimal("22.00"))

    everything = api.get(URL).json()["results"][0]["variants"][0]
    web_only = api.get(URL, {"channel": "web"}).json()["results"][0]["variants"][0]

    assert everything["availability"] == {"store-paris": 3, "web": 13}
    assert everything["price"] == {"amount": "24.90", "currency": "EUR"}
    assert web_only["availability"] == {"web": 13}
    assert web_only["price"] == {"amount": "22.00", "currency": "EUR"}


def test_a_channel_key_cannot_read_another_channel(web_api):
    response = web_api.get(URL, {"channel": "store-paris"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_unknown_channel_is_a_400_naming_it(staff_api, db):
    response = staff_api("catalog.view_product").get(URL, {"channel": "nowhere"})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "channel": ["No active sales channel “nowhere”."]
    }


def test_unpublished_products_are_invisible_to_the_channel(web_api, shop, stocked_variant, publish):
    hidden = stocked_variant(warehouse=5)
    publish(hidden.product, channels=[shop.store_channel])

    assert web_api.get(URL).json()["results"] == []
    assert web_api.get(f"{URL}{hidden.product.pk}/").status_code == 404


def test_category_filter_includes_sub_categories(web_api, tee, publish):
    other = ProductFactory(name="Plain cap")
    VariantFactory(product=other)
    publish(other)

    by_parent = web_api.get(URL, {"category": "tops"}).json()["results"]
    unknown = web_api.get(URL, {"category": "nope"})

    assert [p["name"] for p in by_parent] == ["Organic tee"]
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == {"category": ["No category “nope”."]}


def test_in_stock_filter_uses_what_the_channel_may_sell(web_api, tee, publish):
    empty = ProductFactory(name="Sold-out scarf")
    VariantFactory(product=empty)
    publish(empty)

    in_stock = web_api.get(URL, {"in_stock": "true"}).json()["results"]
    sold_out = web_api.get(URL, {"in_stock": "false"}).json()["results"]
    wrong = web_api.get(URL, {"in_stock": "maybe"})

    assert [p["name"] for p in in_stock] == ["Organic tee"]
    assert [p["name"] for p in sold_out] == ["Sold-out scarf"]
    assert wrong.status_code == 400


@pytest.mark.parametrize("text", ["organic", "tee-navy-m", "4006381333931"])
def test_search_by_name_sku_or_barcode(web_api, tee, publish, text):
    other = ProductFactory(name="Linen shirt")
    VariantFactory(product=other)
    publish(other)

    results = web_api.get(URL, {"search": text}).json()["results"]

    assert [p["name"] for p in results] == ["Organic tee"]


def test_the_list_is_paginated_with_a_cursor(web_api, publish):
    for _ in range(3):
        publish(VariantFactory().product)

    first = web_api.get(URL, {"page_size": 2}).json()
    second = web_api.get(first["next"]).json()
    back = web_api.get(second["previous"]).json()

    assert [len(first["results"]), len(second["results"])] == [2, 1]
    assert first["previous"] is None
    assert second["next"] is None
    assert back["results"] == first["results"]
    assert back["previous"] is None
    assert back["next"] == first["next"]


@pytest.mark.parametrize("size", ["0", "-1", "many"])
def test_a_bad_page_size_is_a_400(web_api, size):
    response = web_api.get(URL, {"page_size": size})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"page_size": ["A whole number from 1 to 100."]}


@pytest.mark.parametrize("page_size", [2, 25])
def test_queries_do_not_grow_with_the_page_size(
    web_api, shop, stocked_variant, publish, django_assert_num_queries, page_size
):
    category = Category.objects.create(name="All", slug="all")
    for _ in range(30):
        product = ProductFactory(category=category)
        publish(product)
        for _ in range(3):
            stocked_variant(product=product, store=1, warehouse=2)
    run_outbox()
    web_api.get(URL)  # the key is read (and stamped "last used") once, then remembered

    # the whole page (products, categories, variants, barcodes, prices and what the
    # channel may sell) as JSON from one statement; the key comes from memory
    with django_assert_num_queries(1):
        response = web_api.get(URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_with_the_key_cache_off_the_key_is_one_more_query(
    web_api, publish, settings, django_assert_num_queries
):
    settings.API_KEY_CACHE_SECONDS = 0
    for _ in range(3):
        publish(VariantFactory().product)
    web_api.get(URL)  # the key's "last used" stamp is written once a minute at most

    with django_assert_num_queries(2):  # the key, the page
        response = web_api.get(URL, {"page_size": 2})

    assert len(response.json()["results"]) == 2


def test_page_links_keep_the_other_parameters_as_sent(web_api, publish):
    for _ in range(5):
        publish(VariantFactory().product)
    query = "search=&page_size=2&in_stock=&tag=a+b&tag=%C3%A9t%C3%A9&x=%2F%26"

    first = web_api.get(f"{URL}?{query}").json()
    cursor_after = QueryDict(first["next"].split("?", 1)[1])["cursor"]
    second = web_api.get(f"{URL}?cursor={quote_plus(cursor_after)}&{query}").json()
    cursor_before = QueryDict(second["previous"].split("?", 1)[1])["cursor"]

    # what QueryDict.copy(), ["cursor"] = … and .urlencode() give: the cursor last when
    # there was none, in its place otherwise, the rest encoded as Django does
    rest = "search=&page_size=2&in_stock=&tag=a+b&tag=%C3%A9t%C3%A9&x=%2F%26"
    assert first["next"] == f"http://testserver{URL}?{rest}&cursor={quote_plus(cursor_after)}"
    assert second["previous"] == f"http://testserver{URL}?cursor={quote_plus(cursor_before)}&{rest}"
    expected = QueryDict(query, mutable=True)
    expected["cursor"] = cursor_after
    assert first["next"] == f"http://testserver{URL}?{expected.urlencode()}"
    assert b64decode(cursor_after).startswith(b"a=")
    assert b64decode(cursor_before).startswith(b"b=")


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*"])
def test_the_list_answers_json_to_what_front_ends_accept(web_api, tee, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = web_api.get(URL, **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == web_api.get(URL).content


def test_an_unsupported_accept_is_a_406_in_the_stable_shape(web_api, tee):
    response = web_api.get(URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"
    assert web_api.get(URL, {"format": "xml"}).status_code == 404
    assert web_api.get(URL, {"format": "json"}).status_code == 200


def test_a_product_detail(web_api, tee):
    response = web_api.get(f"{URL}{tee.product.pk}/")

    assert response.status_code == 200
    assert response.json()["variants"][0]["availability"] == {"web": 13}


def test_which_stores_have_a_variant_live(web_api, shop, tee):
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", city="Lyon")
    stock_reserve(variant_id=tee.pk, location_id=shop.store.pk, quantity=1)
    expired = stock_reserve(
        variant_id=tee.pk,
        location_id=shop.store.pk,
        quantity=1,
        expires_at=timezone.now() + timezone.timedelta(seconds=30),
    )
    Reservation.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timezone.timedelta(seconds=1)
    )

    response = web_api.get("/api/v1/variants/tee-navy-m/stores/")
    in_stock = web_api.get("/api/v1/variants/TEE-NAVY-M/stores/", {"in_stock": "true"})

    assert response.json() == {
        "sku": "TEE-NAVY-M",
        "stores": [
            {"location": "paris", "name": "Paris", "city": "", "kind": "store", "available": 2},
            {
                "location": lyon.code,
                "name": "Lyon",
                "city": "Lyon",
                "kind": "store",
                "available": 0,
            },
        ],
    }
    assert [s["location"] for s in in_stock.json()["stores"]] == ["paris"]
    assert web_api.get("/api/v1/variants/NOPE/stores/").status_code == 404


def test_without_credentials_the_error_has_the_stable_shape(db):
    response = APIClient().get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": None,
        }
    }
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer uck_not-a-real-key", "Bearer", "Bearer two words"])
def test_a_wrong_key_is_refused(shop, header):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_key_is_refused(shop):
    from unicommerce.channels.services import api_key_create

    api_key, raw_key = api_key_create(channel=shop.web, name="old")
    api_key_revoke(api_key=api_key)

    assert APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 401


def test_a_staff_key_without_the_permission_is_refused(staff_api):
    response = staff_api().get(URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_only_a_hash_of_the_key_is_stored(shop):
    from unicommerce.channels.services import api_key_create

    api_key, raw_key = api_key_create(channel=shop.web, name="front end")

    api_key.refresh_from_db()
    assert raw_key not in (api_key.key_hash, api_key.prefix, api_key.name)
    assert len(api_key.key_hash) == 64


def test_a_malformed_cursor_gets_a_400_in_the_same_shape(web_api):
    response = web_api.get(URL, {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The request is not valid.",
            "details": {"cursor": ["This cursor is not valid; use `next`/`previous`."]},
        }
    }


def test_an_unknown_api_address_answers_json_404(web_api):
    response = web_api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_openapi_schema_documents_every_endpoint_and_its_errors(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert set(schema["paths"]["/api/v1/products/"]["get"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                codes = set(operation["responses"])
                assert {"401", "403"} <= codes, f"{method} {path} documents its auth errors"
    assert "apiKey" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_from_our_own_static_files(client, db):
    response = client.get("/api/v1/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    bundle = page.split('src="')[1].split('"')[0]
    assert bundle.startswith("/static/")
    assert client.get(bundle).status_code == 200
