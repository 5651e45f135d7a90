"""Paying with loyalty points (payments.gateways.points): payment_start(method="points")
redeems ceil(amount / point value) from the order customer's points, refunds give them
back pro rata, a refund to "points" only gives back what the order redeemed, and the
API lets a customer spend their own points but not a channel's key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import include, path

from customers.auth import login_code_exchange, login_code_send
from loyalty.exceptions import PointsRefundExceedsRedeemed
from loyalty.models import PointsEntry, PointsProgramme
from loyalty.services.points import points_balance, points_earn
from orders.models import Order
from payments.exceptions import PaymentDeclined
from payments.models import Payment
from payments.registry import payments_strategies_register
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_methods, refund_to_method
from payments.services.start import payment_start
from tests.api.conftest import client_with_key
from tests.factories import CustomerFactory
from unicommerce.channels.services import api_key_create

urlpatterns = [path("api/v1/", include("payments.api.urls"))]

D = Decimal
PS = Order.PaymentStatus


@pytest.fixture(autouse=True)
def wired():
    payments_strategies_register()


@pytest.fixture
def programme(db) -> PointsProgramme:
    return PointsProgramme.objects.create(
        name="Fidélité", currency="EUR", points_per_unit=D("1"), point_value=D("0.05")
    )


@pytest.fixture
def camille(programme):
    customer = CustomerFactory()
    points_earn(customer=customer, amount=D("300"), currency="EUR", reference="UC-OLD")
    return customer  # 300 points, worth 15.00


def placed(shop, total: str, *, customer=None) -> Order:
    return Order.objects.create(
        channel=shop.web,
        customer=customer,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=D(total),
    )


def held(customer, programme) -> int:
    return points_balance(customer=customer, programme=programme)


def test_paying_with_points_redeems_what_the_amount_needs_rounded_up(shop, camille, programme):
    order = placed(shop, "40.00", customer=camille)

    payment = payment_start(order=order, method="points", amount=D("7.51"), idempotency_key="p")
    payment_start(
        order=order, method="card_online", amount=D("32.49"), token="sim_ok", idempotency_key="c"
    )

    redeemed = PointsEntry.objects.get(kind="redeem")
    assert (payment.status, payment.gateway, payment.captured_amount) == (
        "captured",
        "points",
        D("7.51"),
    )
    assert payment.provider_reference == f"pt_{redeemed.pk}"
    assert (redeemed.points, redeemed.reference) == (-151, order.reference)
    assert held(camille, programme) == 149
    order.refresh_from_db()
    assert order.payment_status == PS.PAID
    # The same start again: the same payment, no second redemption.
    again = payment_start(order=order, method="points", amount=D("7.51"), idempotency_key="p")
    assert again.pk == payment.pk
    assert PointsEntry.objects.filter(kind="redeem").count() == 1


def test_more_points_than_held_are_declined_and_nothing_is_redeemed(shop, camille, programme):
    order = placed(shop, "40.00", customer=camille)

    with pytest.raises(PaymentDeclined) as error:
        payment_start(order=order, method="points", amount=D("15.01"), idempotency_key="p")

    assert error.value.decline_code == "points_insufficient"
    assert held(camille, programme) == 300
    assert not PointsEntry.objects.filter(kind="redeem").exists()
    payment = Payment.objects.get(method="points")
    assert (payment.status, payment.captured_amount) == ("failed", D("0"))


def test_points_need_a_customer_and_an_active_programme(shop, camille, programme):
    guest = placed(shop, "10.00")
    with pytest.raises(PaymentDeclined) as no_customer:
        payment_start(order=guest, method="points", amount=D("5"), idempotency_key="a")
    programme.is_active = False
    programme.save()
    with pytest.raises(PaymentDeclined) as inactive:
        payment_start(
            order=placed(shop, "10.00", customer=camille),
            method="points",
            amount=D("5"),
            idempotency_key="b",
        )

    assert no_customer.value.decline_code == "points_needs_customer"
    assert inactive.value.decline_code == "points_programme_inactive"
    assert not PointsEntry.objects.filter(kind="redeem").exists()


def test_refunds_give_the_points_back_pro_rata_then_all_that_is_left(shop, camille, programme):
    order = placed(shop, "10.00", customer=camille)
    payment = payment_start(order=order, method="points", amount=D("10"), idempotency_key="p")
    assert held(camille, programme) == 100

    payment_refund(payment=payment, amount=D("3.33"), idempotency_key="r1")
    assert held(camille, programme) == 166  # floor(200 × 3.33 / 10) = 66 back
    payment_refund(payment=payment, amount=D("3.33"), idempotency_key="r2")
    assert held(camille, programme) == 233  # floor(200 × 6.66 / 10) = 133 in all
    payment_refund(payment=payment, amount=D("3.34"), idempotency_key="r3")

    assert held(camille, programme) == 300  # refunded in full: every point back
    backs = PointsEntry.objects.filter(kind="reverse").order_by("id")
    assert [entry.points for entry in backs] == [66, 67, 67]
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", D("10.00"))


def test_a_refund_to_points_gives_back_only_what_the_order_redeemed(shop, camille, programme):
    order = placed(shop, "50.00", customer=camille)
    payment_start(order=order, method="points", amount=D("5"), idempotency_key="p")  # 100
    payment_start(
        order=order, method="card_online", amount=D("45"), token="sim_ok", idempotency_key="c"
    )
    assert "points" in refund_methods()

    op = refund_to_method(
        order=order, amount=D("2"), method="points", user=None, idempotency_key="r1"
    )
    with pytest.raises(PointsRefundExceedsRedeemed) as error:
        refund_to_method(
            order=order, amount=D("4"), method="points", user=None, idempotency_key="r2"
        )

    assert (op.payment.method, op.payment.gateway) == ("points", "points")
    back = PointsEntry.objects.get(kind="reverse")
    assert (back.points, op.provider_reference) == (40, f"pt_{back.pk}")
    assert (error.value.code, error.value.details["available"]) == (
        "points_refund_exceeds_redeemed",
        60,
    )
    assert held(camille, programme) == 240
    assert Payment.objects.filter(method="points").count() == 2  # the tender, one refund


# --- the API


def customer_client(shop, customer):
    sent = login_code_send(channel=shop.web, email=customer.email)
    _, raw_token = login_code_exchange(channel=shop.web, email=customer.email, code=sent.code)
    _, raw_key = api_key_create(channel=shop.web, name="storefront", kind="publishable")
    client = client_with_key(raw_key)
    client.credentials(HTTP_AUTHORIZATION=f"Customer {raw_token}")
    return client


@pytest.mark.urls(__name__)
def test_a_customer_pays_with_their_own_points_and_not_on_anothers_order(shop, camille, programme):
    order = placed(shop, "20.00", customer=camille)
    other = placed(shop, "20.00", customer=CustomerFactory())
    client = customer_client(shop, camille)
    body = {"method": "points", "amount": "5.00"}

    paid = client.post(
        f"/api/v1/orders/{order.reference}/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="a"
    )
    hidden = client.post(
        f"/api/v1/orders/{other.reference}/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    short = client.post(
        f"/api/v1/orders/{order.reference}/payments/",
        {"method": "points", "amount": "15.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="c",
    )

    assert (paid.status_code, paid.json()["method"], paid.json()["status"]) == (
        201,
        "points",
        "captured",
    )
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "order_not_found")
    assert short.status_code == 402
    assert short.json()["error"]["details"]["decline_code"] == "points_insufficient"
    assert held(camille, programme) == 200
