"""The staff API for transfers: the flow, who may call it, and the shape of its errors."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from inventory.models import Location, StockLevel, StockMovement, Transfer, TransferLine
from tests.factories import LocationFactory, UserFactory
from unicommerce.channels.services import api_key_create
from unicommerce.events.models import OutboxEvent

URL = "/api/v1/transfers/"


def client_with(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def clerk(db):
    return UserFactory(
        username="clerk", permissions=["inventory.change_transfer", "inventory.all_locations"]
    )


@pytest.fixture
def staff(clerk) -> APIClient:
    _, raw_key = api_key_create(user=clerk, name="warehouse scripts")
    return client_with(raw_key)


@pytest.fixture
def goods(shop, stocked_variant):
    return {
        "TEE": stocked_variant(warehouse=10, sku="TEE"),
        "CAP": stocked_variant(warehouse=2, sku="CAP"),
    }


def level(variant, location) -> tuple[int, int]:
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.incoming) if found else (0, 0)


def snapshot() -> tuple:
    return (
        sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand", "incoming")),
        StockMovement.objects.count(),
        OutboxEvent.objects.count(),
        sorted(Transfer.objects.values_list("pk", "status")),
        sorted(TransferLine.objects.values_list("pk", "quantity", "quantity_received")),
    )


def create(staff, **overrides):
    body = {
        "from_location": "warehouse",
        "to_location": "paris",
        "lines": [{"sku": "TEE", "quantity": 4}, {"sku": "CAP", "quantity": 2}],
        "note": "weekly restock",
        **overrides,
    }
    return staff.post(URL, body, format="json")


def test_a_transfer_is_created_shipped_and_received_through_the_api(staff, shop, goods, clerk):
    created = create(staff)

    assert created.status_code == 201, created.json()
    body = created.json()
    transfer = Transfer.objects.get()
    assert body == {
        "id": transfer.pk,
        "reference": f"TR{transfer.pk:06d}",
        "status": "draft",
        "from_location": "warehouse",
        "to_location": "paris",
        "note": "weekly restock",
        "lines": [
            {
                "sku": "TEE",
                "quantity": 4,
                "quantity_received": 0,
                "discrepancy": 0,
                "outstanding": 4,
            },
            {
                "sku": "CAP",
                "quantity": 2,
                "quantity_received": 0,
                "discrepancy": 0,
                "outstanding": 2,
            },
        ],
        "created_at": body["created_at"],
        "shipped_at": None,
        "received_at": None,
    }
    assert transfer.created_by == clerk

    shipped = staff.post(f"{URL}{transfer.pk}/ship/")

    assert shipped.status_code == 200
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["shipped_at"] is not None
    assert level(goods["TEE"], shop.warehouse) == (6, 0)
    assert level(goods["TEE"], shop.store) == (0, 4)

    partial = staff.post(
        f"{URL}{transfer.pk}/receive/",
        {"lines": [{"sku": "TEE", "quantity": 1}, {"sku": "TEE", "quantity": 2}]},
        format="json",
    )

    assert partial.status_code == 200
    assert partial.json()["status"] == "partially_received"
    assert [(line["sku"], line["quantity_received"]) for line in partial.json()["lines"]] == [
        ("TEE", 3),
        ("CAP", 0),
    ]
    assert level(goods["TEE"], shop.store) == (3, 1)

    received = staff.post(
        f"{URL}{transfer.pk}/receive/",
        {"lines": [{"sku": "TEE", "quantity": 1}, {"sku": "CAP", "quantity": 2}]},
        format="json",
    )

    assert received.status_code == 200
    assert received.json()["status"] == "received"
    assert received.json()["received_at"] is not None
    assert level(goods["TEE"], shop.store) == (4, 0)
    assert level(goods["CAP"], shop.store) == (2, 0)
    assert StockMovement.objects.filter(source_id=str(transfer.pk), created_by=clerk).count() == 10
    assert staff.get(f"{URL}{transfer.pk}/").json() == received.json()


def test_closing_through_the_api_reports_the_discrepancy(staff, shop, goods):
    transfer_id = create(staff).json()["id"]
    staff.post(f"{URL}{transfer_id}/ship/")
    staff.post(
        f"{URL}{transfer_id}/receive/", {"lines": [{"sku": "TEE", "quantity": 3}]}, format="json"
    )

    closed = staff.post(f"{URL}{transfer_id}/close/", {"note": "box lost"}, format="json")

    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert [
        (line["sku"], line["quantity_received"], line["discrepancy"], line["outstanding"])
        for line in closed.json()["lines"]
    ] == [("TEE", 3, 1, 0), ("CAP", 0, 2, 0)]
    notes = set(
        StockMovement.objects.filter(source_id=str(transfer_id), reason="adjustment").values_list(
            "note", flat=True
        )
    )
    assert notes == {f"transfer TR{transfer_id:06d} discrepancy: box lost"}


def test_a_draft_is_cancelled_through_the_api(staff, shop, goods):
    transfer_id = create(staff).json()["id"]

    cancelled = staff.post(f"{URL}{transfer_id}/cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_without_credentials_the_answer_is_401_in_the_error_shape(shop, goods):
    before = snapshot()

    response = APIClient().post(URL, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": None,
        }
    }
    assert APIClient().get(URL).status_code == 401
    assert snapshot() == before


def test_a_channel_key_is_refused_with_403(shop, goods):
    _, raw_key = api_key_create(channel=shop.web, name="storefront")
    channel = client_with(raw_key)
    before = snapshot()

    response = create(channel)

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Your API key or account is not allowed to do this.",
            "details": None,
        }
    }
    assert channel.get(URL).status_code == 403
    assert snapshot() == before


def test_staff_without_the_permission_is_refused_with_403(shop, goods):
    _, raw_key = api_key_create(user=UserFactory(username="cashier"), name="till")

    response = create(client_with(raw_key))

    assert response.status_code == 403
    assert Transfer.objects.count() == 0


def test_an_unknown_sku_is_a_400_naming_the_line_and_nothing_is_created(staff, shop, goods):
    before = snapshot()

    response = create(staff, lines=[{"sku": "TEE", "quantity": 1}, {"sku": "NOPE", "quantity": 1}])

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The request is not valid.",
            "details": {"lines": {"1": {"sku": ["No variant has the SKU “NOPE”."]}}},
        }
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "details"),
    [
        ({"to_location": "nowhere"}, {"to_location": ["No location has the code “nowhere”."]}),
        ({"lines": []}, {"lines": {"non_field_errors": ["This list may not be empty."]}}),
        (
            {"lines": [{"sku": "TEE", "quantity": 0}]},
            {"lines": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
        (
            {"lines": [{"sku": "TEE", "quantity": -2}]},
            {"lines": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
    ],
)
def test_malformed_input_is_a_400_naming_the_field(staff, shop, goods, overrides, details):
    before = snapshot()

    response = create(staff, **overrides)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == details
    assert snapshot() == before


@pytest.mark.parametrize(
    ("to_location", "code", "message"),
    [
        (
            "warehouse",
            "transfer_same_location",
            "A transfer goes from one location to another; both are Warehouse.",
        ),
        ("closed", "location_unusable", "Closed is not active."),
    ],
)
def test_a_rule_of_the_service_is_a_400_with_its_code(
    staff, shop, goods, to_location, code, message
):
    LocationFactory(code="closed", name="Closed", is_active=False)
    before = snapshot()

    response = create(staff, to_location=to_location)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"] == message
    assert snapshot() == before


def test_shipping_without_the_stock_is_a_409_naming_the_sku_and_nothing_moves(staff, shop, goods):
    transfer_id = create(staff, lines=[{"sku": "CAP", "quantity": 3}]).json()["id"]
    before = snapshot()

    response = staff.post(f"{URL}{transfer_id}/ship/")

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "insufficient_stock",
            "message": "Only 2 of CAP available at Warehouse; 3 requested.",
            "details": {"sku": "CAP", "location": "Warehouse", "requested": 3, "available": 2},
        }
    }
    assert snapshot() == before
    assert not Location.objects.filter(code="transit").exists()


def test_shipping_twice_is_a_409_invalid_transition(staff, shop, goods):
    transfer_id = create(staff).json()["id"]
    staff.post(f"{URL}{transfer_id}/ship/")
    before = snapshot()

    response = staff.post(f"{URL}{transfer_id}/ship/")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"] == f"TR{transfer_id:06d} is shipped: it can be shipped only when draft."
    assert error["details"] == {
        "transfer": f"TR{transfer_id:06d}",
        "status": "shipped",
        "action": "ship",
        "allowed": ["draft"],
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([{"sku": "TEE", "quantity": 5}], "receipt_exceeds_outstanding"),
        (
            [{"sku": "TEE", "quantity": 4}, {"sku": "TEE", "quantity": 1}],
            "receipt_exceeds_outstanding",
        ),
        ([{"sku": "OTHER", "quantity": 1}], "variant_not_on_transfer"),
    ],
)
def test_a_receipt_that_does_not_match_the_transfer_is_a_400_and_nothing_moves(
    staff, shop, goods, stocked_variant, lines, code
):
    stocked_variant(sku="OTHER")
    transfer_id = create(staff).json()["id"]
    staff.post(f"{URL}{transfer_id}/ship/")
    before = snapshot()

    response = staff.post(f"{URL}{transfer_id}/receive/", {"lines": lines}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert snapshot() == before


def test_receiving_a_draft_is_a_409(staff, shop, goods):
    transfer_id = create(staff).json()["id"]

    response = staff.post(
        f"{URL}{transfer_id}/receive/", {"lines": [{"sku": "TEE", "quantity": 1}]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize("action", ["", "ship/", "receive/", "close/", "cancel/"])
def test_an_unknown_transfer_is_a_404(staff, shop, action):
    method = staff.get if not action else staff.post
    response = method(
        f"{URL}999999/{action}", {"lines": [{"sku": "X", "quantity": 1}]}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_list_is_newest_first_paginated_and_filtered_by_status(staff, shop, goods):
    ids = [create(staff, lines=[{"sku": "TEE", "quantity": 1}]).json()["id"] for _ in range(3)]
    staff.post(f"{URL}{ids[0]}/ship/")

    first = staff.get(URL, {"page_size": 2}).json()
    second = staff.get(first["next"]).json()
    shipped = staff.get(URL, {"status": "shipped"}).json()
    drafts = staff.get(URL, {"status": "draft", "from_location": "warehouse"}).json()

    assert [t["id"] for t in first["results"]] == [ids[2], ids[1]]
    assert [t["id"] for t in second["results"]] == [ids[0]]
    assert second["next"] is None
    assert [t["id"] for t in shipped["results"]] == [ids[0]]
    assert [t["id"] for t in drafts["results"]] == [ids[2], ids[1]]
    assert staff.get(URL, {"to_location": "warehouse"}).json()["results"] == []


def test_an_unknown_status_filter_is_a_400(staff, shop):
    response = staff.get(URL, {"status": "lost"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["details"]) == ["status"]


def test_the_list_reads_a_constant_number_of_queries(
    staff, shop, goods, django_assert_max_num_queries
):
    for _ in range(5):
        create(staff)
    staff.get(URL)  # the key's "last used" stamp is written once a minute at most

    # key + user permissions, transfers with locations, their lines, their variants
    with django_assert_max_num_queries(6):
        response = staff.get(URL)

    assert len(response.json()["results"]) == 5


def test_every_transfer_endpoint_documents_its_errors_in_the_schema(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {p: v for p, v in schema["paths"].items() if p.startswith("/api/v1/transfers/")}

    documented = {
        (path, method): sorted(operation["responses"])
        for path, v in paths.items()
        for method, operation in v.items()
    }
    assert documented == {
        ("/api/v1/transfers/", "get"): ["200", "400", "401", "403"],
        ("/api/v1/transfers/", "post"): ["201", "400", "401", "403", "415", "422"],
        ("/api/v1/transfers/{id}/", "get"): ["200", "400", "401", "403", "404"],
        ("/api/v1/transfers/{id}/ship/", "post"): ["200", "400", "401", "403", "404", "409", "422"],
        ("/api/v1/transfers/{id}/receive/", "post"): [
            "200",
            "400",
            "401",
            "403",
            "404",
            "409",
            "415",
            "422",
        ],
        ("/api/v1/transfers/{id}/close/", "post"): [
            "200",
            "400",
            "401",
            "403",
            "404",
            "409",
            "415",
            "422",
        ],
        ("/api/v1/transfers/{id}/cancel/", "post"): [
            "200",
            "400",
            "401",
            "403",
            "404",
            "409",
            "422",
        ],
    }
    error = paths["/api/v1/transfers/{id}/ship/"]["post"]["responses"]["409"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    ship_parameters = paths["/api/v1/transfers/{id}/ship/"]["post"]["parameters"]
    assert "Idempotency-Key" in [p["name"] for p in ship_parameters]


def test_a_retried_call_with_the_same_idempotency_key_does_the_work_once(staff, shop, goods):
    body = {
        "from_location": "warehouse",
        "to_location": "paris",
        "lines": [{"sku": "TEE", "quantity": 4}],
    }

    first = staff.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    again = staff.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    transfer_id = first.json()["id"]
    shipped = staff.post(f"{URL}{transfer_id}/ship/", HTTP_IDEMPOTENCY_KEY="ship-1")
    shipped_again = staff.post(f"{URL}{transfer_id}/ship/", HTTP_IDEMPOTENCY_KEY="ship-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Transfer.objects.count() == 1
    assert (shipped.status_code, shipped_again.status_code) == (200, 200)
    assert shipped_again.json() == shipped.json()
    assert level(goods["TEE"], shop.warehouse) == (6, 0)
    assert StockMovement.objects.filter(source_id=str(transfer_id)).count() == 2
