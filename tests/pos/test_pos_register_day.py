"""The register's day at the till: opened with the cash counted, a cash move with its
reason (a manager above the limit), closed with the counts; no sale while it is not open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pos.models import CashMove, JournalRecord, RegisterSession, SessionCount, ZReport
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


# --------------------------------------------------------------------------- the counts


def test_the_register_opens_with_the_notes_and_coins_counted(till):
    page = till.get(URL).content.decode()
    assert page.count('name="denom_') == 15
    assert 'name="denom_500.00"' in page
    assert 'name="denom_0.01"' in page

    opened = till.post(
        URL, {"action": "open", "counted": "", "denom_50.00": "2", "denom_0.20": " 3 "}
    )

    assert opened.status_code == 200, opened.content.decode()[:400]
    session = RegisterSession.objects.get()
    assert session.opening_counted_amount == Decimal("100.60")
    assert session.opening_denominations == {"50.00": 2, "0.20": 3}


@pytest.mark.parametrize(
    "typed",
    [
        {"denom_20.00": "deux"},
        {"denom_20.00": "-1"},
        {"denom_20.00": "1.5"},
        {"denom_20.00": "2", "counted": "50.00"},  # the grid says 40.00
        {"counted": "-5"},
        {"counted": "1e20"},  # more than the column holds: refused, not a server error
        {"denom_500.00": "99999999999999"},
        {},
    ],
)
def test_a_bad_count_is_an_inline_error_and_opens_nothing(till, typed):
    refused = till.post(URL, {"action": "open", "counted": "", **typed})

    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    for value in typed.values():
        assert f'value="{value}"' in html  # typed back
    assert not RegisterSession.objects.exists()
    assert not JournalRecord.objects.exists()


def test_the_difference_to_the_last_counted_closing_is_shown_on_its_own(till):
    till.post(URL, {"action": "open", "counted": "100.00"})
    till.post(URL, {"action": "close_start"})
    till.post(URL, {"action": "close", "count_cash": "100.00"})
    page = till.get(URL).content.decode()
    assert 'class="previous-closing" data-amount="100.00"' in page

    reopened = till.post(URL, {"action": "open", "counted": "97.50"}).content.decode()

    assert 'data-difference="-2.50"' in reopened
    assert "Difference to the last counted closing" in reopened
    session = RegisterSession.objects.exclude(status="closed").get()
    assert (session.previous_closing_amount, session.opening_difference_amount) == (
        Decimal("100.00"),
        Decimal("-2.50"),
    )


def test_the_tolerance_is_shown_and_a_difference_above_it_needs_a_manager_and_a_comment(
    till, shop, settings
):
    settings.POS_CLOSING_TOLERANCE_PER_REGISTER = {"paris-1": "2.00"}
    till.post(URL, {"action": "open", "counted": "50.00"})
    closing = till.post(URL, {"action": "close_start"}).content.decode()
    assert 'data-tolerance="2.00"' in closing
    assert "Above it, a manager approves with a comment." in closing
    assert 'data-tender="cash"' in closing  # not blind: the expected figures are shown

    short = till.post(URL, {"action": "close", "count_cash": "45.00"})
    assert short.status_code == 422
    assert "needs a manager&#x27;s approval and a comment" in short.content.decode()
    assert RegisterSession.objects.get().status == "closing_control"
    manager = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(manager)
    no_comment = {"action": "close", "count_cash": "45.00", "manager": "manon"}
    assert till.post(URL, {**no_comment, "password": "secret-pass"}).status_code == 422
    assert not SessionCount.objects.exists()

    closed = till.post(
        URL, {**no_comment, "password": "secret-pass", "comment": "Till short, recounted"}
    )

    assert closed.status_code == 200, closed.content.decode()[:400]
    count = SessionCount.objects.get(tender="cash")
    assert (count.difference_amount, count.approved_by, count.comment) == (
        Decimal("-5.00"),
        manager,
        "Till short, recounted",
    )
    assert count.blind is False


def test_a_blind_count_register_never_shows_the_expected_figures_before_closing(till, settings):
    settings.POS_BLIND_COUNT_PER_REGISTER = {"paris-1": True}
    opened = till.post(URL, {"action": "open", "counted": "80.00"}).content.decode()
    assert "day-expected" not in opened
    assert "Blind count" in opened
    closing = till.post(URL, {"action": "close_start"}).content.decode()
    assert "day-expected" not in closing
    assert 'data-tender="cash"' not in closing
    assert 'data-blind="true"' in closing

    closed = till.post(URL, {"action": "close", "count_cash": "80.00"})

    assert closed.status_code == 200
    assert SessionCount.objects.get(tender="cash").blind is True


def test_blind_count_for_every_register_by_the_setting(till, settings):
    settings.POS_BLIND_COUNT = True
    till.post(URL, {"action": "open", "counted": "10.00"})
    assert "day-expected" not in till.get(URL).content.decode()
    settings.POS_BLIND_COUNT_PER_REGISTER = {"paris-1": False}
    assert "day-expected" in till.get(URL).content.decode()
