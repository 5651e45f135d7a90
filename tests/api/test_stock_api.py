"""Staff stock endpoints and reservations over the API, with idempotency keys."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import Reservation, StockLevel, StockMovement
from tests.api.conftest import client_with_key
from tests.factories import LocationFactory

RECEIPTS = "/api/v1/stock/receipts/"
ADJUSTMENTS = "/api/v1/stock/adjustments/"
RESERVATIONS = "/api/v1/reservations/"


@pytest.fixture
def clerk(staff_api):
    return staff_api("inventory.add_stockmovement", "inventory.view_stocklevel")


def on_hand(variant, location) -> int:
    return StockLevel.objects.get(variant=variant, location=location).on_hand


def test_a_receipt_writes_one_ledger_row(clerk, shop, stocked_variant):
    variant = stocked_variant(store=2)

    response = clerk.post(
        RECEIPTS, {"sku": variant.sku, "location": "paris", "quantity": 5, "note": "delivery 42"}
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["sku"], body["location"], body["quantity"], body["on_hand_after"]) == (
        variant.sku,
        "paris",
        5,
        7,
    )
    assert body["reason"] == "receipt"
    assert StockMovement.objects.get(pk=body["id"]).created_by == clerk.user


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sku": "NOPE", "location": "paris", "quantity": 1}, "sku"),
        ({"sku": "{sku}", "location": "mars", "quantity": 1}, "location"),
        ({"sku": "{sku}", "location": "paris", "quantity": 0}, "quantity"),
        ({"sku": "{sku}", "location": "paris", "quantity": -3}, "quantity"),
        ({"sku": "{sku}", "location": "paris"}, "quantity"),
    ],
)
def test_a_bad_receipt_names_the_field_and_changes_nothing(
    clerk, shop, stocked_variant, payload, field
):
    variant = stocked_variant(store=2)
    payload = {
        k: v.format(sku=variant.sku) if isinstance(v, str) else v for k, v in payload.items()
    }
    ledger = StockMovement.objects.count()

    response = clerk.post(RECEIPTS, payload)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["details"]) == [field]
    assert StockMovement.objects.count() == ledger
    assert on_hand(variant, shop.store) == 2


def test_receipts_need_the_permission(staff_api, web_api, shop, stocked_variant):
    variant = stocked_variant()
    payload = {"sku": variant.sku, "location": "paris", "quantity": 1}

    assert staff_api().post(RECEIPTS, payload).status_code == 403
    assert web_api.post(RECEIPTS, payload).status_code == 403
    assert not StockMovement.objects.filter(variant=variant).exists()


def test_an_adjustment_cannot_take_reserved_units(clerk, shop, stocked_variant):
    variant = stocked_variant(store=3)
    StockLevel.objects.filter(variant=variant, location=shop.store).update(reserved=2)

    refused = clerk.post(
        ADJUSTMENTS, {"sku": variant.sku, "location": "paris", "quantity": -2, "reason": "damage"}
    )
    accepted = clerk.post(
        ADJUSTMENTS, {"sku": variant.sku, "location": "paris", "quantity": -1, "reason": "damage"}
    )

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_stock"
    assert refused.json()["error"]["details"]["available"] == 1
    assert accepted.status_code == 201
    assert on_hand(variant, shop.store) == 2


@pytest.mark.parametrize(("quantity", "reason"), [(0, "damage"), (1, "sale"), (1, "stolen")])
def test_an_adjustment_needs_a_quantity_and_an_adjustment_reason(
    clerk, shop, stocked_variant, quantity, reason
):
    variant = stocked_variant(store=3)

    response = clerk.post(
        ADJUSTMENTS,
        {"sku": variant.sku, "location": "paris", "quantity": quantity, "reason": reason},
    )

    assert response.status_code == 400
    assert on_hand(variant, shop.store) == 3


def test_a_retried_receipt_with_the_same_key_is_done_once(clerk, shop, stocked_variant):
    variant = stocked_variant()
    payload = {"sku": variant.sku, "location": "paris", "quantity": 4}

    first = clerk.post(RECEIPTS, payload, HTTP_IDEMPOTENCY_KEY="delivery-7")
    again = clerk.post(RECEIPTS, payload, HTTP_IDEMPOTENCY_KEY="delivery-7")
    other = clerk.post(RECEIPTS, {**payload, "quantity": 5}, HTTP_IDEMPOTENCY_KEY="delivery-7")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert on_hand(variant, shop.store) == 4


def test_a_failed_call_is_not_remembered_under_its_key(clerk, shop, stocked_variant):
    variant = stocked_variant(store=1)
    payload = {"sku": variant.sku, "location": "paris", "quantity": -2, "reason": "damage"}

    refused = clerk.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="k1")
    clerk.post(RECEIPTS, {"sku": variant.sku, "location": "paris", "quantity": 5})
    accepted = clerk.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="k1")

    assert (refused.status_code, accepted.status_code) == (409, 201)


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_retries_with_one_key_receive_once(staff_api, shop, stocked_variant):
    variant = stocked_variant()
    api = staff_api("inventory.add_stockmovement")
    raw_key = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    payload = {"sku": variant.sku, "location": "paris", "quantity": 3}
    barrier = threading.Barrier(10)
    statuses = []

    def retry() -> None:
        try:
            barrier.wait()
            response = client_with_key(raw_key).post(
                RECEIPTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(10)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]

    assert statuses == [201] * 10
    assert StockMovement.objects.filter(variant=variant).count() == 1
    assert on_hand(variant, shop.store) == 3


def test_stock_levels_show_what_is_available_now(clerk, shop, stocked_variant):
    variant = stocked_variant(store=5, warehouse=1)
    StockLevel.objects.filter(variant=variant, location=shop.store).update(reserved=1, safety=1)

    levels = clerk.get("/api/v1/stock/levels/", {"sku": variant.sku}).json()["results"]

    assert sorted(levels, key=lambda level: level["location"]) == [
        {
            "sku": variant.sku,
            "location": "paris",
            "on_hand": 5,
            "reserved": 1,
            "safety": 1,
            "available": 3,
            "incoming": 0,
        },
        {
            "sku": variant.sku,
            "location": "warehouse",
            "on_hand": 1,
            "reserved": 0,
            "safety": 0,
            "available": 1,
            "incoming": 0,
        },
    ]


def test_a_channel_reserves_releases_and_sells_from_its_locations(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5)

    created = web_api.post(
        RESERVATIONS,
        {
            "sku": variant.sku,
            "location": "warehouse",
            "quantity": 2,
            "expires_in": 900,
            "reference": "cart:abc",
        },
    )
    body = created.json()
    released = web_api.post(f"{RESERVATIONS}{body['id']}/release/")
    second = web_api.post(
        RESERVATIONS, {"sku": variant.sku, "location": "warehouse", "quantity": 1, "expires_in": 60}
    ).json()
    sold = web_api.post(f"{RESERVATIONS}{second['id']}/convert/")

    assert created.status_code == 201
    assert (body["channel"], body["status"], body["reference"]) == ("web", "active", "cart:abc")
    assert released.json()["status"] == "released"
    assert sold.json()["status"] == "converted"
    level = StockLevel.objects.get(variant=variant, location=shop.warehouse)
    assert (level.on_hand, level.reserved) == (4, 0)
    assert StockMovement.objects.filter(variant=variant, reason="sale").count() == 1


def test_a_channel_cannot_reserve_where_it_does_not_sell(web_api, shop, stocked_variant):
    elsewhere = LocationFactory(code="lyon", kind="store")
    variant = stocked_variant()

    response = web_api.post(
        RESERVATIONS, {"sku": variant.sku, "location": "lyon", "quantity": 1, "expires_in": 60}
    )

    assert response.status_code == 403
    assert "does not feed the channel" in response.json()["error"]["message"]
    assert not Reservation.objects.filter(location=elsewhere).exists()


def test_reserving_more_than_available_is_a_409_and_holds_nothing(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=2)

    response = web_api.post(
        RESERVATIONS, {"sku": variant.sku, "location": "warehouse", "quantity": 3, "expires_in": 60}
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "sku": variant.sku,
        "location": "Warehouse",
        "requested": 3,
        "available": 2,
    }
    assert not Reservation.objects.exists()
    assert StockLevel.objects.get(variant=variant, location=shop.warehouse).reserved == 0


def test_an_expired_reservation_cannot_be_sold(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=2)
    body = web_api.post(
        RESERVATIONS, {"sku": variant.sku, "location": "warehouse", "quantity": 1, "expires_in": 60}
    ).json()
    Reservation.objects.filter(pk=body["id"]).update(expires_at=timezone.now())

    response = web_api.post(f"{RESERVATIONS}{body['id']}/convert/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reservation_not_active"
    assert StockLevel.objects.get(variant=variant, location=shop.warehouse).on_hand == 2


def test_a_channel_sees_only_its_own_reservations(web_api, staff_api, shop, stocked_variant):
    variant = stocked_variant(store=2)
    manager = staff_api("inventory.add_reservation", "inventory.view_reservation")
    body = manager.post(RESERVATIONS, {"sku": variant.sku, "location": "paris", "quantity": 1})

    assert body.status_code == 201
    assert manager.get(f"{RESERVATIONS}{body.json()['id']}/").status_code == 200
    assert web_api.get(f"{RESERVATIONS}{body.json()['id']}/").status_code == 404
