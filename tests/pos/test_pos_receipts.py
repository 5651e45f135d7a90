"""The receipt of a till sale (issue 15): the store's legal identity, each line with its
VAT code and discounts, the VAT per rate, the tenders and the change; printed on request
(the original, then DUPLICATA n°k, each print logged and never changed), sent by e-mail
or SMS; another store's order is not shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, transaction

from orders.models import Order
from pos.models import ReceiptPrint, StoreIdentity
from tests.factories import LocationFactory, SalesChannelFactory, UserFactory
from tests.pos.conftest import HX, SELL
from unicommerce.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(till, shop, stocked_variant):
    StoreIdentity.objects.create(
        location=shop.store,
        legal_name="Maison Durand SAS",
        address="12 rue de Rivoli",
        postal_code="75001",
        city="Paris",
        siret="12345678900012",
        vat_number="FR32123456789",
        footer="Échange sous 30 jours avec ce ticket.",
    )
    tee = stocked_variant(store=5, price_amount=Decimal("19.90"))
    book = stocked_variant(store=5, price_amount=Decimal("10.00"), product__vat_rate=Decimal("5.5"))
    for variant in (tee, tee, book):
        till.post(SELL, {"action": "add", "variant": variant.pk}, **HX)
    page = till.post(SELL, {"action": "complete", "tendered": "60"}, **HX)
    assert page.status_code == 200, page.content.decode()[:500]
    return Order.objects.get()


def url(order) -> str:
    return f"/pos/receipts/{order.reference}/"


def test_the_receipt_says_what_the_law_asks(till, sold):
    html = till.get(url(sold)).content.decode()
    for text in (
        "Maison Durand SAS",
        "SIRET 12345678900012",
        "FR32123456789",
        sold.reference,
        "2 × ",
        "€49.80",  # the total
        "A 20 %",
        "B 5.5 %",
        "€6.63",  # VAT at 20 % on 39.80
        "€0.52",  # VAT at 5.5 % on 10.00
        "€10.20",  # change from 60.00
        "Échange sous 30 jours",
        "Ticket n°1",
        "Till 1",
    ):
        assert text in html, text


def test_prints_are_the_original_then_numbered_duplicates_and_never_change(till, sold):
    first = till.post(url(sold), {"action": "print"})
    assert "DUPLICATA" not in first.content.decode()
    second = till.post(url(sold), {"action": "print"})
    third = till.post(url(sold), {"action": "print"})
    assert "DUPLICATA n°1" in second.content.decode()
    assert "DUPLICATA n°2" in third.content.decode()
    assert list(ReceiptPrint.objects.values_list("kind", "number")) == [
        ("original", 0),
        ("duplicate", 1),
        ("duplicate", 2),
    ]
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        ReceiptPrint.objects.filter(number=2).delete()
    from pos.models import JournalRecord

    reprints = JournalRecord.objects.filter(event_code="reprint").order_by("number")
    assert [r.payload["duplicate"] for r in reprints] == [1, 2]


def test_the_receipt_is_sent_on_request_and_a_bad_address_is_refused(till, sold):
    refused = till.post(url(sold), {"action": "send", "to": "nobody"})
    assert refused.status_code == 422
    assert not Message.objects.exists()
    sent = till.post(url(sold), {"action": "send", "to": "Client@Example.com"})
    assert sent.status_code == 200
    message = Message.objects.get()
    assert (message.channel, message.to) == ("email", "client@example.com")
    assert "Maison Durand SAS" in message.body and "€49.80" in message.body  # noqa: PT018


def test_another_stores_order_has_no_receipt_here(client, shop, sold):
    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[lyon_channel])
    other = UserFactory(username="lyon-seller", role="seller")
    lyon.staff.add(other)
    from tests.factories import RegisterFactory

    register = RegisterFactory(code="lyon-1", location=lyon, channel=lyon_channel)
    client.force_login(other)
    client.post("/pos/", {"register": register.pk})
    assert client.get(url(sold)).status_code == 404


@pytest.mark.parametrize("action", ["print", "pdf"])
def test_a_seller_of_two_stores_cannot_reprint_one_stores_ticket_at_the_other(
    client, shop, sold, action
):
    from pos.models import JournalRecord
    from tests.factories import RegisterFactory

    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[lyon_channel])
    lyon.staff.add(shop.seller)  # works in Paris and in Lyon
    register = RegisterFactory(code="lyon-1", location=lyon, channel=lyon_channel)
    client.force_login(shop.seller)
    client.post("/pos/", {"register": register.pk})
    journal = JournalRecord.objects.count()

    response = client.post(url(sold), {"action": action})

    assert response.status_code == 403
    assert "This sale was made at Paris: its receipt is printed there." in response.content.decode()
    assert ReceiptPrint.objects.count() == 0
    assert JournalRecord.objects.count() == journal


def test_a_till_sale_is_a_ticket_of_its_registers_chain(sold, shop):
    from pos.fiscal.journal import journal_verify
    from pos.models import JournalRecord

    ticket = JournalRecord.objects.get(reference=sold.reference)
    assert (ticket.kind, ticket.number, ticket.chain.register_id) == ("ticket", 1, shop.register.pk)
    assert ticket.payload["total"] == "49.80"
    assert [row["rate"] for row in ticket.payload["vat"]] == ["5.5", "20.0"]
    assert journal_verify().intact


def test_a_change_of_the_receipt_identity_is_a_technical_event(sold, shop):
    from pos.models import JournalRecord
    from pos.receipts import store_identity_save

    identity = StoreIdentity.objects.get(location=shop.store)
    identity.footer = "Échange sous 15 jours."
    store_identity_save(identity=identity, changed=["footer"], user=shop.seller)

    event = JournalRecord.objects.get(event_code="receipt_settings_change")
    assert event.chain.store_id == shop.store.pk
    assert event.payload["values"] == {"footer": "Échange sous 15 jours."}
