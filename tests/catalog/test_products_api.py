import pytest
from rest_framework.test import APIClient

from catalog.services import api_key_create, api_key_revoke
from inventory.models import StockLevel
from tests.factories import ProductFactory, VariantFactory

URL = "/api/v1/products/"


@pytest.fixture
def api(shop) -> APIClient:
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_products_come_with_variants_prices_and_availability_per_channel(
    api, shop, stocked_variant
):
    variant = stocked_variant(store=3, warehouse=10, sku="TEE-NAVY-M", price_amount="24.90")
    StockLevel.objects.filter(variant=variant, location=shop.store).update(reserved=1)

    response = api.get(URL)

    assert response.status_code == 200
    [product] = response.json()["results"]
    assert product["name"] == variant.product.name
    assert product["vat_rate"] == "20.0"
    assert product["variants"] == [
        {
            "id": variant.pk,
            "sku": "TEE-NAVY-M",
            "barcodes": [variant.barcode],
            "attributes": {"size": "M"},
            "price": {"amount": "24.90", "currency": "EUR"},
            "availability": {"store-paris": 2, "web": 12},
        }
    ]


def test_a_channel_without_stock_shows_zero(api, shop, stocked_variant):
    stocked_variant(warehouse=4)

    [product] = api.get(URL).json()["results"]

    assert product["variants"][0]["availability"] == {"store-paris": 0, "web": 4}


def test_the_list_is_paginated_with_a_cursor(api, shop):
    for _ in range(3):
        VariantFactory()

    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["next"] is None


@pytest.mark.parametrize("page_size", [2, 25])
def test_queries_do_not_grow_with_the_page_size(
    api, shop, stocked_variant, django_assert_num_queries, page_size
):
    for _ in range(30):
        product = ProductFactory()
        for _ in range(3):
            stocked_variant(product=product, store=1, warehouse=2)
    api.get(URL)  # the key's "last used" stamp is written once a minute at most

    # key, products page, their variants, the variants' barcodes, availability, channels
    with django_assert_num_queries(6):
        response = api.get(URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


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


@pytest.mark.parametrize(
    "header", ["Bearer uck_not-a-real-key", "Bearer", "Bearer two words", "Bearer something"]
)
def test_a_wrong_key_is_refused(shop, header):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_key_is_refused(shop):
    api_key, raw_key = api_key_create(channel=shop.web, name="old")
    api_key_revoke(api_key=api_key)

    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 401


def test_only_a_hash_of_the_key_is_stored(shop):
    api_key, raw_key = api_key_create(channel=shop.web, name="front end")

    api_key.refresh_from_db()
    assert raw_key not in (api_key.key_hash, api_key.prefix, api_key.name)
    assert len(api_key.key_hash) == 64


def test_a_malformed_request_gets_a_400_in_the_same_shape(api):
    response = api.get(URL, {"cursor": "not-a-cursor"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The request is not valid.",
            "details": {"cursor": ["This cursor is not valid; use `next`/`previous`."]},
        }
    }


def test_an_unknown_api_address_answers_json_404(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_openapi_schema_documents_the_endpoint_and_its_errors(client, db):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/products/"]["get"]
    assert set(operation["responses"]) == {"200", "400", "401"}
    assert "apiKey" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_from_our_own_static_files(client, db):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    bundle = page.split('src="')[1].split('"')[0]
    assert bundle.startswith("/static/")
    assert client.get(bundle).status_code == 200
