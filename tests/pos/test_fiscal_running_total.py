"""Each ticket and credit note of a register carries the register's perpetual grand total
after it, and the tenders the till took; the day's closing totals them per tender and its
perpetual grand total agrees with the registers' running totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from orders.services.carts import cart_create, cart_line_add
from orders.services.returns import return_create
from pos.fiscal import journal_verify
from pos.fiscal.closings import closing_produce
from pos.fiscal.tickets import return_credit_note_record
from pos.models import JournalChain, JournalRecord
from pos.services import (
    LedgerTenders,
    sale_complete,
    sale_pay_card,
    sale_pay_split,
    sale_pay_tenders,
)
from pos.sessions import session_open
from tests.factories import RegisterFactory

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
D = Decimal


def _cart(shop, variant, quantity=1, customer=None):
    cart = cart_create(channel=shop.store_channel, customer=customer)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=shop.store_channel)
    return cart


def _credit_note(shop, order, register, quantity=1, outcome="refund"):
    ret = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": order.lines.get(), "quantity": quantity, "reason": "damaged"}],
        receiving_location=shop.store,
        outcome=outcome,
        user=shop.seller,
    )
    return return_credit_note_record(ret=ret, register=register, seller_id=shop.seller.pk)


def _records(register, kind):
    return JournalRecord.objects.filter(chain__register=register, kind=kind).order_by("number")


@pytest.fixture
def day(shop, tee, scarf):
    """A day at two registers of the store: cash, card, split, and returns."""
    second = RegisterFactory(location=shop.store, channel=shop.store_channel, code="PAR-2")
    for register in (shop.register, second):
        session_open(register=register, user=shop.seller, counted="0")
    seller = shop.seller
    cash = sale_complete(
        register=shop.register,
        cart=_cart(shop, tee, 2),
        payment_method="cash",
        seller=seller,
        tendered=D("50"),
    ).order  # 39.80, 10.20 change
    sale_pay_card(
        register=shop.register, cart=_cart(shop, scarf), seller=seller, idempotency_key="card-00001"
    )  # 29.00
    sale_pay_split(
        register=second,
        cart=_cart(shop, tee),
        seller=seller,
        cash=D("5.00"),
        idempotency_key="split-00001",
    )  # 19.90: 5.00 cash, 14.90 card
    _credit_note(shop, cash, shop.register)  # -19.90 at the first
    _credit_note(shop, cash, second, outcome="store_credit")  # -19.90 at the second
    return shop.register, second


def test_each_ticket_and_credit_note_carries_the_registers_running_total(day):
    first, second = day
    tickets, notes = _records(first, "ticket"), _records(first, "credit_note")
    assert [t.payload["grand_total"] for t in tickets] == ["39.80", "68.80"]
    assert [n.payload["grand_total"] for n in notes] == ["48.90"]
    assert [n.payload["grand_total"] for n in _records(second, "credit_note")] == ["0.00"]

    for register in (first, second):
        records = JournalRecord.objects.filter(
            chain__register=register, kind__in=("ticket", "credit_note")
        )
        total = sum(
            (D(r.payload["total"]) * (1 if r.kind == "ticket" else -1) for r in records), D(0)
        )
        last = records.order_by("-created_at").first()
        assert D(last.payload["grand_total"]) == total
        head = JournalChain.objects.get(register=register, kind="ticket")
        assert head.grand_total == total
    assert journal_verify().intact


def test_tickets_record_the_tenders_taken_and_the_change(day):
    first, second = day
    cash, card = _records(first, "ticket")
    (split,) = _records(second, "ticket")
    assert (cash.payload["tenders"], cash.payload["change"]) == ({"cash": "39.80"}, "10.20")
    assert (card.payload["tenders"], card.payload["change"]) == ({"card_terminal": "29.00"}, "0.00")
    assert split.payload["tenders"] == {"card_terminal": "14.90", "cash": "5.00"}
    (refund,) = _records(first, "credit_note")
    (credit,) = _records(second, "credit_note")
    assert refund.payload["tenders"] == {"refund": "19.90"}
    assert credit.payload["tenders"] == {"store_credit": "19.90"}


def test_the_days_closing_totals_per_tender_and_agrees_with_the_running_totals(shop, day):
    first, second = day
    today = timezone.localdate()
    store = closing_produce(period="day", day=today, store=shop.store)
    company = closing_produce(period="day", day=today, store=None)

    assert store.payload["tenders"] == {"card_terminal": "43.90", "cash": "44.80"}
    assert store.payload["credit_notes_tenders"] == {"refund": "19.90", "store_credit": "19.90"}
    assert sum(D(a) for a in store.payload["tenders"].values()) == D(store.payload["tickets_total"])
    heads = JournalChain.objects.filter(register__in=(first, second), kind="ticket")
    perpetual = sum((head.grand_total for head in heads), D(0))
    assert D(store.payload["grand_total"]) == perpetual == D("48.90")
    assert company.payload["grand_total"] == store.payload["grand_total"]


def test_a_ledger_split_records_each_tender(shop, tee, camille):
    from loyalty.services.store_credit import store_credit_add

    session_open(register=shop.register, user=shop.seller, counted="0")
    store_credit_add(customer=camille, amount=D("5.00"), currency="EUR", reason="adjustment")
    sale_pay_tenders(
        register=shop.register,
        cart=_cart(shop, tee, customer=camille),
        seller=shop.seller,
        tenders=LedgerTenders(store_credit_amount=D("5.00")),
        cash=D("20.00"),
        idempotency_key="ledger-0001",
    )  # 19.90: 5.00 store credit, 14.90 cash, 5.10 change
    (ticket,) = _records(shop.register, "ticket")
    assert ticket.payload["tenders"] == {"cash": "14.90", "store_credit": "5.00"}
    assert ticket.payload["change"] == "5.10"
