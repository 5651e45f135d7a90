"""The payments REST API over the simulated gateway: an order's payments and amount due,
split tender, capture/void/refunds (to another method too), instalment offers and plans,
Idempotency-Key on every POST, errors in the one shape, and no card number accepted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from orders.models import Order
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment
from tests.api.conftest import client_with_key
from tests.factories import SalesChannelFactory
from unicommerce.channels.services import api_key_create

# Mounted as the lead mounts it under /api/v1/ (the project urls add the include).
urlpatterns = [
    path("api/v1/", include("payments.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
]
pytestmark = pytest.mark.urls(__name__)

D = Decimal
CASHIER = ("payments.view_payment", "payments.add_payment", "payments.change_payment")


@pytest.fixture(autouse=True)
def clean_simulated_gateway():
    simulated.reset()
    yield
    simulated.reset()


@pytest.fixture
def order(shop) -> Order:
    return Order.objects.create(
        channel=shop.web, status=Order.Status.PLACED, currency="EUR", total_amount=D("120.00")
    )


def url(order: Order, tail: str = "payments/") -> str:
    return f"/api/v1/orders/{order.reference}/{tail}"


def post(client, address: str, body: dict | None = None, key: str | None = "k1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(address, body or {}, format="json", **headers)


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_split_tender_and_the_order_payments_with_amount_due(web_api, staff_api, order):
    cashier = staff_api(*CASHIER)
    cash = post(cashier, url(order), {"method": "cash", "amount": "20.00"}, key="cash-1")
    card = post(
        web_api,
        url(order),
        {"method": "card_online", "amount": "100.00", "token": "sim_ok"},
        key="card-1",
    )
    again = post(
        web_api,
        url(order),
        {"method": "card_online", "amount": "100.00", "token": "sim_ok"},
        key="card-1",
    )

    assert (cash.status_code, card.status_code, again.status_code) == (201, 201, 201)
    assert again.json()["id"] == card.json()["id"]
    assert len(simulated.charges()) == 1
    body = web_api.get(url(order)).json()
    assert {k: body[k] for k in ("order", "payment_status", "paid_amount", "amount_due")} == {
        "order": order.reference,
        "payment_status": "paid",
        "paid_amount": "120.00",
        "amount_due": "0.00",
    }
    assert [(p["method"], p["status"], p["captured_amount"]) for p in body["payments"]] == [
        ("cash", "captured", "20.00"),
        ("card_online", "captured", "100.00"),
    ]
    assert [(o["kind"], o["status"]) for o in body["payments"][1]["operations"]] == [
        ("capture", "pending"),
        ("capture", "succeeded"),
    ]
    assert body["payments"][1]["card_last4"] == "4242"
    # The ledger key is the caller's, prefixed: another caller's "card-1" is another key.
    assert Payment.objects.get(pk=card.json()["id"]).idempotency_key == (
        f"channel:{order.channel_id}:card-1"
    )


def test_post_errors_have_the_stable_shape(web_api, order):
    card = {"method": "card_online", "token": "sim_ok"}
    no_key = post(web_api, url(order), {**card, "amount": "10"}, key=None)
    too_much = post(web_api, url(order), {**card, "amount": "120.01"})
    bad = post(web_api, url(order), {"method": "cheque", "amount": "x"})
    declined = post(
        web_api, url(order), {"method": "card_online", "amount": "10", "token": "sim_decline"}
    )
    reused = post(
        web_api, url(order), {"method": "card_online", "amount": "11", "token": "sim_decline"}
    )

    assert error_of(no_key) == (400, "idempotency_key_missing")
    assert error_of(too_much) == (409, "payment_exceeds_due")
    assert too_much.json()["error"]["details"]["outstanding"] == "120.00"
    assert error_of(bad) == (400, "invalid")
    assert set(bad.json()["error"]["details"]) == {"method", "amount"}
    assert error_of(declined) == (402, "payment_declined")
    assert error_of(reused) == (422, "idempotency_key_reused")
    assert Payment.objects.filter(status="captured").count() == 0


@pytest.mark.parametrize(
    "token", ["4242424242424242", "4242 4242 4242 4241", "1234-5678-9012-3456"]
)
def test_no_card_number_is_accepted_anywhere(web_api, order, token, caplog):
    pay = post(web_api, url(order), {"method": "card_online", "amount": "10", "token": token})
    plan = post(web_api, url(order, "instalment-plans/"), {"kind": "3x", "token": token})

    assert error_of(pay) == (400, "card_number_refused")
    assert error_of(plan) == (400, "card_number_refused")
    assert token not in pay.content.decode() + plan.content.decode()
    assert token not in caplog.text
    assert not Payment.objects.exists()
    assert simulated.CALLS == []


def test_capture_void_and_refunds(web_api, staff_api, order):
    held = post(
        web_api,
        url(order),
        {"method": "card_online", "amount": "60", "token": "sim_ok", "capture": False},
        key="a",
    ).json()
    other = post(
        web_api,
        url(order),
        {"method": "card_online", "amount": "60", "token": "sim_ok", "capture": False},
        key="b",
    ).json()
    assert (held["status"], other["status"]) == ("authorised", "authorised")

    captured = post(web_api, f"/api/v1/payments/{held['id']}/capture/", {"amount": "50"})
    voided = post(web_api, f"/api/v1/payments/{other['id']}/void/", key="v")
    void_again = post(web_api, f"/api/v1/payments/{other['id']}/capture/", key="c2")
    cashier = staff_api(*CASHIER)
    refund = post(
        cashier, f"/api/v1/payments/{held['id']}/refunds/", {"amount": "20", "reason": "size"}
    )
    in_cash = post(
        cashier,
        f"/api/v1/payments/{held['id']}/refunds/",
        {"amount": "25", "method": "cash"},
        key="r2",
    )
    too_much = post(
        cashier, f"/api/v1/payments/{held['id']}/refunds/", {"amount": "5.01"}, key="r3"
    )
    credit = post(
        cashier,
        f"/api/v1/payments/{held['id']}/refunds/",
        {"amount": "1", "method": "store_credit"},
        key="r4",
    )

    assert (captured.status_code, captured.json()["captured_amount"]) == (200, "50.00")
    assert (voided.status_code, voided.json()["status"]) == (200, "voided")
    assert error_of(void_again) == (409, "payment_state_invalid")
    assert (refund.status_code, refund.json()["refunded_amount"]) == (201, "20.00")
    assert (in_cash.status_code, in_cash.json()["method"]) == (201, "cash")
    assert in_cash.json()["operations"][0]["amount"] == "25.00"
    assert error_of(too_much) == (409, "refund_exceeds_paid")
    assert error_of(credit) == (409, "store_credit_needs_customer")  # a guest's order
    body = cashier.get(url(order)).json()
    assert (body["payment_status"], body["paid_amount"], body["refundable_amount"]) == (
        "partially_refunded",
        "5.00",
        "5.00",
    )


def test_instalment_offers_for_an_amount_and_channel(web_api, staff_api, shop):
    offers = web_api.get("/api/v1/instalments/offers/?amount=120.00").json()
    marketplace = SalesChannelFactory(code="mp", kind="marketplace")
    staff = staff_api("payments.view_payment")
    none_there = staff.get(f"/api/v1/instalments/offers/?amount=120&channel={marketplace.code}")
    unknown = staff.get("/api/v1/instalments/offers/?amount=120&channel=nope")
    missing = web_api.get("/api/v1/instalments/offers/")

    assert [(o["kind"], o["due_now"], len(o["parts"])) for o in offers] == [
        ("2x", "60.00", 2),
        ("3x", "40.00", 3),
        ("4x", "30.00", 4),
        ("d15", "0.00", 1),
        ("d30", "0.00", 1),
    ]
    assert sum(D(p["amount"]) for p in offers[1]["parts"]) == D("120.00")
    assert none_there.json() == []
    assert error_of(unknown) == (400, "channel_unknown")
    assert error_of(missing) == (400, "invalid")


def test_pay_in_3_instalments_over_the_api(web_api, order):
    body = {"kind": "3x", "token": "sim_ok", "phone": "06 12 34 56 78"}

    created = post(web_api, url(order, "instalment-plans/"), body, key="plan")
    again = post(web_api, url(order, "instalment-plans/"), body, key="plan")

    assert (created.status_code, again.status_code) == (201, 201)
    plan = created.json()
    assert again.json()["id"] == plan["id"]
    assert (plan["kind"], plan["status"], plan["amount"], plan["phone"]) == (
        "3x",
        "active",
        "120.00",
        "+33612345678",
    )
    assert [(p["number"], p["amount"], p["status"]) for p in plan["parts"]] == [
        (1, "40.00", "paid"),
        (2, "40.00", "scheduled"),
        (3, "40.00", "scheduled"),
    ]
    assert len(simulated.charges()) == 1
    payments = web_api.get(url(order)).json()
    assert (payments["payment_status"], payments["amount_due"]) == (
        "paid",
        "0.00",
    )  # paid in instalments
    assert payments["payments"][0]["plan"]["id"] == plan["id"]


def test_instalment_plan_refusals(web_api, order, shop):
    small = Order.objects.create(
        channel=shop.web, status=Order.Status.PLACED, currency="EUR", total_amount=D("30.00")
    )

    ineligible = post(web_api, url(small, "instalment-plans/"), {"kind": "3x", "token": "sim_ok"})
    declined = post(
        web_api, url(order, "instalment-plans/"), {"kind": "3x", "token": "sim_decline"}, key="d"
    )
    bad_phone = post(
        web_api,
        url(order, "instalment-plans/"),
        {"kind": "3x", "token": "sim_ok", "phone": "12"},
        key="p",
    )

    assert error_of(ineligible) == (400, "instalment_plan_not_eligible")
    assert ineligible.json()["error"]["details"]["reason"] == "amount_below_minimum"
    assert error_of(declined) == (402, "instalment_declined")
    assert error_of(bad_phone) == (400, "invalid_phone")
    assert InstalmentPlan.objects.filter(status="active").count() == 0
    order.refresh_from_db()
    assert order.payment_status == "unpaid"


def test_callers_see_only_what_they_may(web_api, staff_api, order, shop):
    other_channel = SalesChannelFactory(code="app", kind="app")
    _, raw = api_key_create(channel=other_channel, name="app")
    app = client_with_key(raw)
    reader = staff_api("payments.view_payment")
    nobody = staff_api()

    assert error_of(app.get(url(order))) == (404, "order_not_found")
    assert error_of(post(app, url(order), {"method": "cash", "amount": "1"})) == (
        404,
        "order_not_found",
    )
    assert reader.get(url(order)).status_code == 200
    assert error_of(post(reader, url(order), {"method": "cash", "amount": "1"}))[0] == 403
    assert nobody.get(url(order)).status_code == 403
    assert error_of(web_api.get("/api/v1/orders/UC99999999/payments/")) == (
        404,
        "order_not_found",
    )
    assert error_of(post(web_api, "/api/v1/payments/999999/void/")) == (404, "payment_not_found")
    assert not Payment.objects.exists()


def test_the_schema_documents_the_payments_endpoints_and_their_errors(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    paths = schema["paths"]
    start = paths["/api/v1/orders/{reference}/payments/"]["post"]
    assert {"201", "400", "402", "404", "409", "422", "503"} <= set(start["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in start["parameters"])
    for address in (
        "/api/v1/payments/{id}/capture/",
        "/api/v1/payments/{id}/void/",
        "/api/v1/payments/{id}/refunds/",
        "/api/v1/orders/{reference}/instalment-plans/",
    ):
        assert "422" in paths[address]["post"]["responses"], address
    assert "200" in paths["/api/v1/instalments/offers/"]["get"]["responses"]


def test_the_order_payments_cost_the_same_queries_however_many_payments(web_api, order):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web_api.get(url(order)).status_code == 200
        return len(captured)

    post(
        web_api,
        url(order, "instalment-plans/"),
        {"kind": "2x", "token": "sim_ok", "amount": "60.00"},
        key="1",
    )
    with_one = queries()
    post(web_api, url(order), {"method": "card_online", "amount": "9", "token": "sim_ok"}, key="2")
    post(web_api, url(order), {"method": "card_online", "amount": "10", "token": "sim_ok"}, key="3")

    assert queries() == with_one
    assert len(web_api.get(url(order)).json()["payments"]) == 3
