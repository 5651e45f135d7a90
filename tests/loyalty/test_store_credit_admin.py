"""The store credit ledger in the back office: read-only, each row with its customer's
balance in that currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.models import StoreCreditEntry
from loyalty.services.store_credit import store_credit_add, store_credit_spend
from tests.factories import CustomerFactory, UserFactory

URL = "/admin/loyalty/storecreditentry/"


@pytest.fixture
def manager(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_the_ledger_lists_each_row_with_the_customer_balance(manager):
    camille = CustomerFactory(last_name="Martin")
    store_credit_add(customer=camille, amount=Decimal("40"), currency="EUR", reason="return")
    store_credit_spend(customer=camille, amount=Decimal("15.50"), currency="EUR")

    response = manager.get(URL)

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [(row.amount, row.balance) for row in rows] == [
        (Decimal("-15.50"), Decimal("24.50")),
        (Decimal("40.00"), Decimal("24.50")),
    ]
    assert manager.get(URL + "?q=Martin").context["cl"].result_count == 2


def test_the_ledger_cannot_be_added_to_changed_or_deleted_from_the_admin(manager):
    camille = CustomerFactory()
    entry = store_credit_add(
        customer=camille, amount=Decimal("40"), currency="EUR", reason="refund"
    )

    assert manager.get(URL + "add/").status_code == 403
    assert manager.post(f"{URL}{entry.pk}/change/", {"amount": "999"}).status_code == 403
    assert manager.post(f"{URL}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StoreCreditEntry.objects.get().amount == Decimal("40.00")
