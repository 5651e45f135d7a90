"""The payments dashboard: figures right on a small shop (split tender, refunds, a
declined card, two currencies, instalment parts due and late, links sent / opened /
paid), filters, a constant number of queries, and who may see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.dashboard import (
    DashboardFilters,
    instalments_due,
    instalments_late,
    instalments_summary,
    payment_link_funnel,
    payment_totals_by_channel,
    payment_totals_by_currency,
    payment_totals_by_method,
    payments_filtered,
)
from payments.exceptions import PaymentDeclined
from payments.models import Instalment, InstalmentPlan, Payment
from payments.services.cash import payment_take_cash
from payments.services.links import payment_link_create, payment_link_open, payment_link_pay
from payments.services.refund import payment_refund
from payments.services.start import payment_start
from tests.factories import SalesChannelFactory, UserFactory
from unicommerce.channels.models import SalesChannel
from unicommerce.messaging import backends

D = Decimal
URL = "/admin/payments/dashboard/"
IS = Instalment.Status


@dataclass
class Shop:
    web: SalesChannel
    paris: SalesChannel
    old_cash: Payment


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    backends.outbox.clear()
    yield
    backends.outbox.clear()


def _card(order, amount: str, token: str = "sim_ok", **extra) -> Payment:  # noqa: S107
    return payment_start(
        order=order,
        method=Payment.Method.CARD_ONLINE,
        amount=D(amount),
        token=token,
        idempotency_key=f"dash-{order.pk}-{amount}-{token}",
        **extra,
    )


def _plan(order, *parts: tuple[int, str, str]) -> InstalmentPlan:
    """A plan whose parts are (days from today, amount, status), as the collector leaves
    them over time."""
    total = sum(D(amount) for _, amount, _ in parts)
    payment = Payment.objects.create(
        order=order,
        method=Payment.Method.INSTALMENT,
        status=Payment.Status.AUTHORISED,
        amount=total,
        currency=order.currency,
        gateway="simulated",
    )
    plan = InstalmentPlan.objects.create(
        payment=payment, kind="3x", amount=total, currency=order.currency
    )
    today = timezone.localdate()
    for number, (days, amount, status) in enumerate(parts, start=1):
        Instalment.objects.create(
            plan=plan,
            number=number,
            due_date=today + timedelta(days=days),
            amount=D(amount),
            status=status,
            attempts=1 if status in (IS.RETRYING, IS.FAILED) else 0,
        )
    return plan


@pytest.fixture
def shop(make_order) -> Shop:
    web = SalesChannelFactory(code="web", name="Web")
    paris = SalesChannelFactory(code="paris", name="Paris store", kind=SalesChannel.Kind.STORE)
    # Split tender on a web order: 70.00 by card online, the 30.00 left in cash in Paris
    # (tendered 50.00), then 20.00 of the card refunded.
    split = make_order(total="100.00", channel=web)
    card = _card(split, "70.00")
    payment_take_cash(order=split, tendered=D("50.00"), channel=paris)
    payment_refund(payment=card, amount=D("20.00"), idempotency_key="dash-refund-1")
    # A web order paid by card, refunded in full.
    refunded = make_order(total="50.00", channel=web)
    payment_refund(payment=_card(refunded, "50.00"), amount=D("50.00"), idempotency_key="r2")
    # A declined card: a failed payment that took nothing.
    with pytest.raises(PaymentDeclined):
        _card(make_order(total="10.00", channel=web), "10.00", token="sim_decline")
    # Cash in the store, twelve days ago; and cash in pounds.
    old_cash = payment_take_cash(
        order=make_order(total="40.00", channel=paris), tendered=D("40.00")
    )
    Payment.objects.filter(pk=old_cash.pk).update(created_at=timezone.now() - timedelta(days=12))
    payment_take_cash(
        order=make_order(total="25.00", currency="GBP", channel=paris), tendered=D("25.00")
    )
    # Three payment links: one only sent, one opened, one paid in full (45.00 by card).
    payment_link_create(order=make_order(total="60.00", channel=web), phone="06 12 34 56 78")
    _, opened = payment_link_create(
        order=make_order(total="61.00", channel=web), phone="0612345679"
    )
    payment_link_open(token=opened)
    _, paid = payment_link_create(order=make_order(total="45.00", channel=web), phone="0612345670")
    payment_link_pay(token=paid, card_token="sim_ok", idempotency_key="page-1")
    # Instalment plans (3 x 30.00 in the store): parts paid, due, late, not yet due.
    _plan(
        make_order(total="90.00", channel=paris),
        (-30, "30.00", IS.PAID),
        (-2, "30.00", IS.RETRYING),  # late: its charge failed, will retry
        (5, "30.00", IS.SCHEDULED),  # due in the next 7 days
    )
    _plan(
        make_order(total="90.00", channel=web),
        (-1, "30.00", IS.SCHEDULED),  # late: past due, not charged
        (3, "30.00", IS.FAILED),  # late: failed for good
        (10, "30.00", IS.SCHEDULED),  # not due within 7 days
    )
    return Shop(web=web, paris=paris, old_cash=old_cash)


def _figures(totals) -> dict:
    return {(t.label, t.currency): (t.count, t.captured, t.refunded, t.net) for t in totals}


def test_totals_per_method_channel_and_currency_over_every_payment(shop):
    payments = payments_filtered(DashboardFilters())

    assert _figures(payment_totals_by_method(payments)) == {
        # 70 (20 refunded) + 50 (all refunded) + a declined 10.00 that took nothing
        ("card (online)", "EUR"): (3, D("120.00"), D("70.00"), D("50.00")),
        ("cash", "EUR"): (2, D("70.00"), D("0.00"), D("70.00")),
        ("payment link", "EUR"): (1, D("45.00"), D("0.00"), D("45.00")),
        # Two plans: the whole amount on the payment, 30.00 charged so far (the paid part
        # is in the plan's rows only: this payment was recorded as the collector left it)
        ("instalment plan", "EUR"): (2, D("0.00"), D("0.00"), D("0.00")),
        ("cash", "GBP"): (1, D("25.00"), D("0.00"), D("25.00")),
    }
    assert _figures(payment_totals_by_channel(payments)) == {
        # the cards and the link took no channel: their orders' (web); the split
        # order's cash was taken in Paris
        ("Web", "EUR"): (5, D("165.00"), D("70.00"), D("95.00")),
        ("Paris store", "EUR"): (3, D("70.00"), D("0.00"), D("70.00")),
        ("Paris store", "GBP"): (1, D("25.00"), D("0.00"), D("25.00")),
    }
    assert _figures(payment_totals_by_currency(payments)) == {
        ("EUR", "EUR"): (8, D("235.00"), D("70.00"), D("165.00")),
        ("GBP", "GBP"): (1, D("25.00"), D("0.00"), D("25.00")),
    }
    assert all(isinstance(t.captured, Decimal) for t in payment_totals_by_method(payments))


def test_filters_by_channel_method_status_and_dates(shop):
    today = timezone.localdate()

    in_paris = payments_filtered(DashboardFilters(channel_id=shop.paris.pk))
    by_card = payments_filtered(DashboardFilters(method="card_online"))
    failed = payments_filtered(DashboardFilters(status="failed"))
    recent = payments_filtered(DashboardFilters(date_from=today - timedelta(days=7)))
    long_ago = payments_filtered(
        DashboardFilters(date_from=today - timedelta(days=13), date_to=today - timedelta(days=1))
    )

    assert sorted((p.method, p.amount, p.currency) for p in in_paris) == [
        ("cash", D("25.00"), "GBP"),
        ("cash", D("30.00"), "EUR"),
        ("cash", D("40.00"), "EUR"),
        ("instalment", D("90.00"), "EUR"),
    ]
    assert sorted(p.amount for p in by_card) == [D("10.00"), D("50.00"), D("70.00")]
    assert [(p.method, p.amount, p.captured_amount) for p in failed] == [
        ("card_online", D("10.00"), D("0.00"))
    ]
    assert shop.old_cash not in recent
    assert recent.count() == 8
    assert list(long_ago) == [shop.old_cash]
    assert _figures(payment_totals_by_method(in_paris)) == {
        ("cash", "EUR"): (2, D("70.00"), D("0.00"), D("70.00")),
        ("instalment plan", "EUR"): (1, D("0.00"), D("0.00"), D("0.00")),
        ("cash", "GBP"): (1, D("25.00"), D("0.00"), D("25.00")),
    }


def test_instalment_parts_due_in_seven_days_and_late(shop):
    today = timezone.localdate()

    due = instalments_due(today=today)
    late = instalments_late(today=today)
    [summary] = instalments_summary(today=today)
    [paris] = instalments_summary(today=today, channel_id=shop.paris.pk)

    assert [(p.due_date - today, p.status) for p in due] == [(timedelta(days=5), IS.SCHEDULED)]
    assert [(p.due_date - today, p.status) for p in late] == [
        (timedelta(days=-2), IS.RETRYING),
        (timedelta(days=-1), IS.SCHEDULED),
        (timedelta(days=3), IS.FAILED),
    ]
    assert (summary.currency, summary.due_count, summary.due_amount) == ("EUR", 1, D("30.00"))
    assert (summary.late_count, summary.late_amount) == (3, D("90.00"))
    assert (paris.due_count, paris.late_count, paris.late_amount) == (1, 1, D("30.00"))


def test_payment_links_sent_opened_paid_and_conversion(shop):
    funnel = payment_link_funnel(DashboardFilters())
    in_paris = payment_link_funnel(DashboardFilters(channel_id=shop.paris.pk))
    tomorrow = timezone.localdate() + timedelta(days=1)
    later = payment_link_funnel(DashboardFilters(date_from=tomorrow))

    assert (funnel.created, funnel.sent, funnel.opened, funnel.paid) == (3, 3, 2, 1)
    assert (funnel.opened_rate, funnel.paid_rate) == (D("66.7"), D("33.3"))
    assert funnel.paid_amounts == {"EUR": D("45.00")}
    assert (in_paris.sent, in_paris.paid, in_paris.paid_rate) == (0, 0, None)
    assert later.sent == 0


def _viewer(**extra):
    return UserFactory(is_staff=True, permissions=["payments.view_payment"], **extra)


def test_the_page_shows_the_figures_in_the_reader_s_language(shop, client):
    client.force_login(_viewer())

    english = client.get(URL, {"channel": shop.paris.pk}, HTTP_ACCEPT_LANGUAGE="en")
    french = client.get(URL, {"channel": shop.paris.pk}, HTTP_ACCEPT_LANGUAGE="fr")

    assert english.status_code == 200
    assert [(r["label"], r["net"]) for r in english.context["method_rows"]] == [
        ("cash", "€70.00"),
        ("instalment plan", "€0.00"),
        ("cash", "£25.00"),
    ]
    assert "Payments dashboard" in english.text
    assert "Late" in english.text
    assert french.status_code == 200
    assert '<html lang="fr"' in french.text
    assert [r["net"] for r in french.context["method_rows"]] == [
        "70,00\xa0€",
        "0,00\xa0€",
        "25,00\xa0£GB",
    ]
    assert english.context["page"].paginator.count == 4
    assert english.context["funnel"].sent == 0


def test_the_page_opens_on_the_last_thirty_days(shop, client):
    client.force_login(_viewer())

    response = client.get(URL)

    assert response.status_code == 200
    filters = response.context["filters"]
    assert filters.date_to == timezone.localdate()
    assert filters.date_from == timezone.localdate() - timedelta(days=29)
    assert response.context["page"].paginator.count == 9


def test_an_invalid_filter_is_said_and_the_rest_still_applies(shop, client):
    client.force_login(_viewer())

    response = client.get(
        URL, {"method": "cheque", "date_from": "2026-05-02", "date_to": "2026-05-01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["filters"] == DashboardFilters()


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_data(shop, client, make_order):
    client.force_login(_viewer())
    _queries(client)  # the session, content types and permission caches warmed
    few = _queries(client, channel=shop.web.pk)
    few_all = _queries(client)

    for i in range(15):
        order = make_order(total="20.00", channel=shop.web if i % 2 else shop.paris)
        payment_refund(payment=_card(order, "20.00"), amount=D("5.00"), idempotency_key=f"more-{i}")
        _plan(make_order(total="60.00"), (-3, "30.00", IS.RETRYING), (4, "30.00", IS.SCHEDULED))
        payment_link_create(order=make_order(total="9.00"), phone=f"06123456{i:02d}")

    assert _queries(client, channel=shop.web.pk) == few
    assert _queries(client) == few_all


def test_only_who_may_view_payments_sees_the_dashboard(shop, client):
    client.force_login(UserFactory(is_staff=True))
    refused = client.get(URL)
    client.logout()
    anonymous = client.get(URL)
    client.force_login(_viewer())
    allowed = client.get(URL)

    assert refused.status_code == 403
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    assert allowed.status_code == 200
    assert reverse("admin:payments_dashboard") == URL


def test_the_payment_list_links_to_the_dashboard(shop, client):
    client.force_login(_viewer())

    response = client.get(reverse("admin:payments_payment_changelist"))

    assert response.status_code == 200
    assert f'href="{URL}"' in response.text
