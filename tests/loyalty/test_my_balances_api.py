"""A signed-in customer reads their points, store credit and the gift cards they bought;
nobody else's, and nobody but a customer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.models import PointsProgramme
from loyalty.services.gift_cards import gift_card_issue
from loyalty.services.points import points_earn
from loyalty.services.store_credit import store_credit_add
from tests.access.conftest import customer_token_client
from tests.api.conftest import web_api  # noqa: F401 (fixture)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/balances/"


def test_a_customer_reads_their_own_balances(shop):
    PointsProgramme.objects.create(name="Club", point_value=Decimal("0.05"))
    alice, bob = CustomerFactory(), CustomerFactory()
    points_earn(
        customer=alice,
        amount=Decimal("120.00"),
        currency="EUR",
        channel_id=shop.web.pk,
        reference="UC1",
        idempotency_key="earn-1",
    )
    store_credit_add(customer=alice, amount=Decimal("7.50"), currency="EUR", reason="refund")
    store_credit_add(customer=bob, amount=Decimal("99.00"), currency="EUR", reason="refund")
    issued = gift_card_issue(
        amount=Decimal("30.00"), currency="EUR", purpose="multi", customer=alice
    )

    body = customer_token_client(alice, shop.web).get(URL).json()

    assert body["currency"] == "EUR"
    assert (body["points"]["balance"], body["points"]["value"]) == (120, "6.00")
    assert body["store_credit"] == "7.50"
    assert [(c["last4"], c["balance"]) for c in body["gift_cards"]] == [
        (issued.card.last4, "30.00")
    ]
    assert customer_token_client(bob, shop.web).get(URL).json()["store_credit"] == "99.00"


def test_keys_and_anonymous_callers_are_refused(shop, web_api, client):  # noqa: F811
    assert web_api.get(URL).status_code == 403
    assert client.get(URL).status_code in (401, 403)
