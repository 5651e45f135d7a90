"""The register's day at the till: opened with the cash counted, a cash move with its
reason (a manager above the limit), closed with the counts; no sale while it is not open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pos.models import CashMove, JournalRecord, RegisterSession, ZReport
from tests.factories import UserFactory
from tests.pos.conftest import HX, SELL

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
URL = "/pos/register/"


def test_no_sale_before_the_register_is_opened(till, stocked_variant):
    variant = stocked_variant(store=3, price_amount=Decimal("10.00"))
    till.post(SELL, {"action": "add", "variant": variant.pk}, **HX)
    refused = till.post(SELL, {"action": "complete", "tendered": "10"}, **HX)
    assert refused.status_code == 422
    assert "Open the register" in refused.content.decode()
    assert "Open the register" in till.get(URL).content.decode()


def test_a_day_opened_moved_and_closed_at_the_till(till, shop, settings):
    settings.POS_CASH_MOVE_APPROVAL_ABOVE = Decimal("50.00")
    bad = till.post(URL, {"action": "open", "counted": "cent"})
    assert bad.status_code == 422
    assert not RegisterSession.objects.exists()

    assert till.post(URL, {"action": "open", "counted": "150.00"}).status_code == 200
    session = RegisterSession.objects.get()
    assert session.status == "open"

    no_reason = till.post(
        URL,
        {"action": "move", "kind": "expense", "amount": "-12", "reason": "", "client_id": "c1x"},
    )
    assert no_reason.status_code == 422
    assert (
        till.post(
            URL,
            {
                "action": "move",
                "kind": "expense",
                "amount": "-12",
                "reason": "Coffee",
                "client_id": "c2x",
            },
        ).status_code
        == 200
    )
    big = {
        "action": "move",
        "kind": "bank_drop",
        "amount": "-100",
        "reason": "Bank",
        "client_id": "c3x",
    }
    assert till.post(URL, big).status_code in (403, 422)
    manager = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(manager)
    approved = till.post(URL, {**big, "manager": "manon", "password": "secret-pass"})
    assert approved.status_code == 200, approved.content.decode()[:400]
    assert sorted(CashMove.objects.values_list("amount", flat=True)) == [
        Decimal("-100.00"),
        Decimal("-12.00"),
    ]

    assert till.post(URL, {"action": "close_start"}).status_code == 200
    closed = till.post(URL, {"action": "close", "count_cash": "38.00"})
    assert closed.status_code == 200, closed.content.decode()[:400]
    session.refresh_from_db()
    assert session.status == "closed"
    assert ZReport.objects.filter(session=session).exists()
    assert JournalRecord.objects.filter(kind="z_report").count() == 1
    assert "Last Z report" in till.get(URL).content.decode()
