"""Gift cards through the API: the balance by code (a POST, rate-limited, one 404 for
every failed lookup) and paying an order with a card (method gift_card, the code as
token), where a wrong code is refused before any payment row is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.services.gift_cards import (
    gift_card_active_set,
    gift_card_balance,
    gift_card_code_new,
    gift_card_issue,
)
from orders.models import Order
from payments.models import Payment
from payments.registry import payments_strategies_register
from tests.api.conftest import client_with_key
from unicommerce.channels.models import ApiKey
from unicommerce.channels.services import api_key_create

D = Decimal
BALANCE = "/api/v1/gift-cards/balance/"


@pytest.fixture(autouse=True)
def wired():
    payments_strategies_register()


@pytest.fixture
def storefront(shop):
    _, raw = api_key_create(channel=shop.web, name="storefront", kind=ApiKey.Kind.PUBLISHABLE)
    return client_with_key(raw)


def card_of(amount: str = "50.00"):
    return gift_card_issue(amount=D(amount), currency="EUR", purpose="multi")


def test_the_balance_of_a_card_by_its_code(storefront):
    issued = card_of("50.00")

    response = storefront.post(BALANCE, {"code": issued.display.lower()}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["last4"], body["balance"], body["currency"], body["purpose"]) == (
        issued.card.last4,
        "50.00",
        "EUR",
        "multi",
    )
    assert set(body) == {"last4", "currency", "balance", "initial_amount", "purpose", "expires_at"}


def test_every_failed_balance_lookup_answers_the_same_404(storefront):
    blocked = card_of()
    gift_card_active_set(card=blocked.card, active=False)

    bodies = []
    for code in (gift_card_code_new(), blocked.code, "x"):
        response = storefront.post(BALANCE, {"code": code}, format="json")
        assert response.status_code == 404
        bodies.append(response.json())

    assert bodies[0]["error"]["code"] == "gift_card_invalid"
    assert bodies[0] == bodies[1] == bodies[2]


def test_failed_lookups_from_one_address_are_rate_limited(storefront, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "gift_card_lookup_failed_per_caller": "3/hour"}
    good = card_of().code
    for _ in range(3):
        assert storefront.post(BALANCE, {"code": gift_card_code_new()}).status_code == 404

    response = storefront.post(BALANCE, {"code": good}, format="json")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response


def test_an_order_is_paid_with_a_gift_card_through_the_api(shop, storefront):
    issued = card_of("50.00")
    order = Order.objects.create(
        channel=shop.web, status=Order.Status.PLACED, currency="EUR", total_amount=D("30.00")
    )

    response = storefront.post(
        f"/api/v1/orders/{order.reference}/payments/",
        {"method": "gift_card", "amount": "30.00", "token": issued.display},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["method"], body["status"], body["card_last4"]) == (
        "gift_card",
        "captured",
        issued.card.last4,
    )
    assert issued.code not in response.content.decode()
    assert gift_card_balance(issued.card) == D("20.00")
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID


def test_a_wrong_code_is_refused_before_any_payment_is_written(shop, storefront):
    order = Order.objects.create(
        channel=shop.web, status=Order.Status.PLACED, currency="EUR", total_amount=D("30.00")
    )

    response = storefront.post(
        f"/api/v1/orders/{order.reference}/payments/",
        {"method": "gift_card", "amount": "30.00", "token": gift_card_code_new()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "gift_card_invalid"
    assert not Payment.objects.exists()
