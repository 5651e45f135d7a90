"""Cancelling a paid sale (issue 15): only as a credit note, from the receipt of a sale of
this store, with a manager's password and a reason, in an open session. Every unit not
returned yet comes back into stock, the money goes back to the original tenders, the
credit note names the ticket's sale (and its invoice), a JET ``void`` names the ticket,
the credit note and the manager. Twice, without approval, without a session, from another
store: refused, nothing changed. The pre-payment void refuses a paid sale and says where
to cancel it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from inventory.models import StockLevel
from orders.models import Cart, Order, Return
from pos.fiscal.journal import journal_verify
from pos.models import JournalRecord, RegisterSession
from pos.parking import SalePaidNotVoidable, sale_void
from tests.factories import LocationFactory, RegisterFactory, SalesChannelFactory, UserFactory
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee(stocked_variant):
    return stocked_variant(store=5, price_amount=Decimal("19.90"), product__name="Organic tee")


@pytest.fixture
def sold(till, tee):
    for _ in range(2):
        till.post(SELL, {"action": "add", "variant": tee.pk}, **HX)
    page = till.post(SELL, {"action": "complete", "tendered": "50"}, **HX)
    assert page.status_code == 200, page.content.decode()[:500]
    return Order.objects.get()


@pytest.fixture
def manager(shop):
    manon = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(manon)
    return manon


def url(order) -> str:
    return f"/pos/receipts/{order.reference}/"


def cancel(client, order, **fields):
    data = {
        "action": "cancel",
        "reason": "Wrong customer account",
        "manager": "manon",
        "password": "secret-pass",
        "key": uuid.uuid4().hex,
        **fields,
    }
    return client.post(url(order), data)


def on_hand(variant, shop) -> int:
    level = StockLevel.objects.filter(variant=variant, location=shop.store).first()
    return level.on_hand if level else 0


def test_a_paid_sale_is_cancelled_by_a_credit_note_with_a_managers_approval(
    till, sold, tee, shop, manager
):
    assert "Cancel this sale" in till.get(url(sold)).content.decode()
    assert on_hand(tee, shop) == 3
    done = cancel(till, sold)
    assert done.status_code == 200, done.content.decode()[:600]
    html = done.content.decode()
    assert "The sale is cancelled" in html
    assert "This sale was cancelled: credit note n°1." in html

    ret = Return.objects.get(order=sold)
    assert (ret.amount, ret.outcome, ret.settlement) == (Decimal("39.80"), "refund", "settled")
    assert on_hand(tee, shop) == 5
    sold.refresh_from_db()
    assert sold.payment_status == Order.PaymentStatus.REFUNDED

    ticket = JournalRecord.objects.get(kind="ticket", reference=sold.reference)
    credit = JournalRecord.objects.get(kind="credit_note", reference=sold.reference)
    assert (credit.chain.register_id, credit.payload["total"]) == (shop.register.pk, "39.80")
    void = JournalRecord.objects.get(event_code="void", reference=sold.reference)
    assert void.payload["ticket"] == {"register": shop.register.pk, "number": ticket.number}
    assert void.payload["credit_note"] == credit.number
    assert (void.payload["by"], void.payload["approved_by"]) == (shop.seller.pk, manager.pk)
    assert void.payload["reason"] == "Wrong customer account"
    assert journal_verify().intact


def test_cancelling_twice_is_refused_and_changes_nothing(till, sold, manager):
    assert cancel(till, sold).status_code == 200
    again = cancel(till, sold)
    assert again.status_code == 422
    assert "already cancelled" in again.content.decode()
    assert Return.objects.count() == 1
    assert JournalRecord.objects.filter(kind="credit_note").count() == 1
    assert JournalRecord.objects.filter(event_code="void").count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"manager": "", "password": ""}, "A manager approves the cancellation"),
        ({"password": "wrong"}, "Wrong username or password"),
        ({"manager": "seller"}, "cannot approve your own sale"),
        ({"reason": "  "}, "Say why the sale is cancelled"),
        ({"key": ""}, "This form has expired"),
    ],
)
def test_a_cancellation_without_approval_or_reason_is_refused(
    till, sold, tee, shop, manager, fields, message
):
    refused = cancel(till, sold, **fields)
    assert refused.status_code == 422
    assert message in refused.content.decode()
    assert not Return.objects.exists()
    assert not JournalRecord.objects.filter(kind="credit_note").exists()
    assert not JournalRecord.objects.filter(event_code="void").exists()
    assert on_hand(tee, shop) == 3
    sold.refresh_from_db()
    assert sold.payment_status == Order.PaymentStatus.PAID


def test_a_seller_without_the_approval_permission_cannot_approve(till, sold, shop):
    other = UserFactory(username="sam", role="seller")
    shop.store.staff.add(other)
    refused = cancel(till, sold, manager="sam")
    assert refused.status_code == 422
    assert "may not approve" in refused.content.decode()
    assert not Return.objects.exists()


def test_a_cancellation_needs_an_open_session(till, sold, shop, manager):
    from pos.sessions import session_close_start

    session = RegisterSession.objects.get(register=shop.register)
    session_close_start(session=session, user=shop.seller)  # closing: no more sales
    refused = cancel(till, sold)
    assert refused.status_code == 422
    assert "Open the register" in refused.content.decode()
    assert not Return.objects.exists()


def test_another_stores_seller_cannot_cancel(sold, shop, manager):
    channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[channel])
    other = UserFactory(username="lyon-seller", role="seller")
    lyon.staff.add(other)
    register = RegisterFactory(code="lyon-1", location=lyon, channel=channel)
    client = Client()
    client.force_login(other)
    client.post("/pos/", {"register": register.pk})
    assert cancel(client, sold).status_code == 404
    assert not Return.objects.exists()


def test_the_credit_note_names_the_invoice_when_there_is_one(till, sold, shop, manager):
    from pos.models import StoreIdentity

    StoreIdentity.objects.create(
        location=shop.store,
        legal_name="Maison Durand SAS",
        address="12 rue de Rivoli",
        postal_code="75001",
        city="Paris",
        siret="44306184100047",
        vat_number="FR64443061841",
    )
    invoice_url = f"/pos/receipts/{sold.reference}/invoice/"
    till.post(invoice_url, {"action": "issue", "name": "Atelier SARL", "address": "Lyon"})
    invoice = JournalRecord.objects.get(kind="invoice")
    assert cancel(till, sold).status_code == 200
    credit = JournalRecord.objects.get(kind="credit_note")
    assert credit.payload["invoice"] == {
        "store": shop.store.pk,
        "number": invoice.number,
        "hash": invoice.hash,
    }
    page = till.get(invoice_url).content.decode()
    assert f"Credit note n°{credit.number} issued for this sale" in page


def test_only_what_was_not_returned_comes_back(till, sold, tee, shop, manager):
    line = sold.lines.get()
    till.post(
        "/pos/returns/",
        {
            "order": sold.reference,
            f"quantity-{line.pk}": "1",
            f"reason-{line.pk}": "damaged",
            "restock": "here",
            "outcome": "refund",
        },
        **HX,
    )
    assert cancel(till, sold).status_code == 200
    returns = Return.objects.filter(order=sold).order_by("id")
    assert [r.lines.get().quantity for r in returns] == [1, 1]


def test_the_pre_payment_void_refuses_a_paid_sale_and_points_to_cancellation(till, sold, shop):
    refused = till.post(SELL, {"action": "void", "reason": "Oops"}, **HX)
    assert refused.status_code == 422
    html = refused.content.decode()
    assert f"Sale {sold.reference} is paid: it cannot be voided" in html
    assert "Cancel it from its receipt" in html
    assert not JournalRecord.objects.filter(event_code="void").exists()

    cart = Cart.objects.get(order=sold)
    with pytest.raises(SalePaidNotVoidable):
        sale_void(register=shop.register, cart=cart, seller=shop.seller, reason="Oops")
    assert not JournalRecord.objects.filter(event_code="void").exists()
    sold.refresh_from_db()
    assert sold.payment_status == Order.PaymentStatus.PAID
