"""The payments dashboard counts a refund made at the till in cash as a refund of cash,
not as a payment of nothing: a €19.90 card payment refunded €19.90 in cash is one
payment, €19.90 captured, €19.90 refunded, net €0.00."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from payments.dashboard import (
    DashboardFilters,
    payment_totals_by_channel,
    payment_totals_by_currency,
    payment_totals_by_method,
    payments_filtered,
)
from payments.models import Payment
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_to_method
from payments.services.start import payment_start
from tests.factories import SalesChannelFactory
from tests.payments.test_dashboard import URL, _viewer

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded_in_cash(make_order):
    """A web order paid €19.90 by card, its goods brought back and refunded in cash."""
    web = SalesChannelFactory(code="web", name="Web")
    order = make_order(total="19.90", channel=web)
    card = payment_start(
        order=order, method="card_online", amount=D("19.90"), token="sim_ok", idempotency_key="c"
    )
    refund_to_method(
        order=order, amount=D("19.90"), method="cash", user=None, idempotency_key="till-1"
    )
    return card


def figures(totals) -> dict:
    return {
        (t.label, t.currency): (t.count, t.refunds, t.captured, t.refunded, t.net) for t in totals
    }


def test_a_cash_refund_is_a_refund_of_cash_not_a_payment(refunded_in_cash):
    payments = payments_filtered(DashboardFilters())

    assert figures(payment_totals_by_method(payments)) == {
        ("card (online)", "EUR"): (1, 0, D("19.90"), D("0.00"), D("19.90")),
        ("cash", "EUR"): (0, 1, D("0.00"), D("19.90"), D("-19.90")),
    }
    assert figures(payment_totals_by_currency(payments)) == {
        ("EUR", "EUR"): (1, 1, D("19.90"), D("19.90"), D("0.00")),
    }
    assert figures(payment_totals_by_channel(payments)) == {
        ("Web", "EUR"): (1, 1, D("19.90"), D("19.90"), D("0.00")),
    }


def test_refunds_to_the_payment_and_by_another_method_add_up(refunded_in_cash, make_order):
    web = refunded_in_cash.order.channel
    order = make_order(total="50.00", channel=web)
    card = payment_start(
        order=order, method="card_online", amount=D("50.00"), token="sim_ok", idempotency_key="d"
    )
    payment_refund(payment=card, amount=D("10.00"), idempotency_key="r")
    refund_to_method(
        order=order, amount=D("5.00"), method="card_terminal", user=None, idempotency_key="t"
    )

    payments = payments_filtered(DashboardFilters())

    assert figures(payment_totals_by_currency(payments)) == {
        ("EUR", "EUR"): (2, 2, D("69.90"), D("34.90"), D("35.00")),
    }
    assert figures(payment_totals_by_method(payments))[("card (online)", "EUR")] == (
        2,
        0,
        D("69.90"),
        D("10.00"),
        D("59.90"),
    )


def test_the_page_shows_the_cash_refund_as_a_refund(refunded_in_cash, client):
    client.force_login(_viewer())

    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    kpi = re.search(r'<ul class="kpis" id="totals-currency">(.*?)</ul>', html, re.S).group(1)
    kpi = " ".join(kpi.split())
    assert "1 payment · 1 refund by another method" in kpi
    assert "<strong>€0.00</strong>" in kpi
    assert "captured €19.90 · refunded €19.90" in kpi
    by_method = re.search(r'<table id="totals-method">(.*?)</table>', html, re.S).group(1)
    cash = " ".join(re.search(r"<tr><td>cash</td>(.*?)</tr>", by_method, re.S).group(1).split())
    assert cash == (
        '<td>EUR</td><td class="money">0 <small class="refunds">+ 1 refund</small></td> '
        '<td class="money">€0.00</td><td class="money">€19.90</td>'
        '<td class="money">-€19.90</td>'
    )
    rows = {row["payment"].method: row for row in response.context["payment_rows"]}
    assert (rows["cash"]["is_refund"], rows["cash"]["amount"], rows["cash"]["refunded"]) == (
        True,
        "—",
        "€19.90",
    )
    assert 'cash · <span class="refund">refund</span>' in html
    assert Payment.objects.count() == 2
