"""Invoices for a business customer (issue 15): issued from the receipt of a paid till
sale, with the buyer's details checked (SIRET with its Luhn key, a French VAT number with
its official key, other EU numbers by shape), numbered in the store's invoice chain of
the fiscal journal with the ticket's lines and VAT; one per sale; printed and downloaded
as PDF like the receipt (original, then DUPLICATA n°k, logged); from the order in the
admin too. Another store's sale: 404, nothing logged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, transaction
from django.test import Client

from customers.models import Address
from orders.models import Order
from pos.fiscal.journal import journal_verify
from pos.invoices import siret_clean, vat_number_clean
from pos.models import Invoice, InvoicePrint, JournalRecord, ReceiptPrint, StoreIdentity
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    RegisterFactory,
    SalesChannelFactory,
    UserFactory,
)
from tests.pos.conftest import HX, SELL
from tests.pos.test_pdf import media_boxes, parse, texts
from unicommerce.exceptions import InvalidInput

pytestmark = pytest.mark.django_db

BUYER = {
    "action": "issue",
    "name": "Atelier Lumière SARL",
    "address": "8 quai des Célestins\n69002 Lyon",
    "siret": "732 829 320 00074",
    "vat_number": "FR 44 732829320",
}


@pytest.fixture
def identity(shop):
    return StoreIdentity.objects.create(
        location=shop.store,
        legal_name="Maison Durand SAS",
        address="12 rue de Rivoli",
        postal_code="75001",
        city="Paris",
        siret="44306184100047",
        vat_number="FR64443061841",
    )


@pytest.fixture
def sold(till, shop, identity, stocked_variant):
    tee = stocked_variant(store=5, price_amount=Decimal("19.90"), product__name="Organic tee")
    book = stocked_variant(
        store=5,
        price_amount=Decimal("10.00"),
        product__vat_rate=Decimal("5.5"),
        product__name="Carnet",
    )
    for variant in (tee, tee, book):
        till.post(SELL, {"action": "add", "variant": variant.pk}, **HX)
    page = till.post(SELL, {"action": "complete", "tendered": "60"}, **HX)
    assert page.status_code == 200, page.content.decode()[:500]
    return Order.objects.get()


def url(order) -> str:
    return f"/pos/receipts/{order.reference}/invoice/"


@pytest.fixture
def lyon_till(shop):
    """A seller of another store, at their own till (a browser of their own)."""
    client = Client()
    channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[channel])
    other = UserFactory(username="lyon-seller", role="seller")
    lyon.staff.add(other)
    register = RegisterFactory(code="lyon-1", location=lyon, channel=channel)
    client.force_login(other)
    client.post("/pos/", {"register": register.pk})
    return client


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ""), ("732 829 320 00074", "73282932000074"), ("35600000000048", "35600000000048")],
)
def test_a_siret_is_14_digits_with_its_luhn_key(value, expected):
    assert siret_clean(value) == expected


@pytest.mark.parametrize("value", ["7328293200007", "73282932000075", "7328293200007A"])
def test_a_wrong_siret_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        siret_clean(value)
    assert refused.value.details["field"] == "siret"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fr44 732 829 320", "FR44732829320"),
        ("DE123456789", "DE123456789"),
        ("NL123456789B01", "NL123456789B01"),
        ("", ""),
    ],
)
def test_eu_vat_numbers(value, expected):
    assert vat_number_clean(value) == expected


@pytest.mark.parametrize(
    "value",
    ["FR45732829320", "FRAB732829320", "FR4473282932", "US123456789", "DE1", "DE1234567890123"],
)
def test_a_wrong_vat_number_is_refused(value):
    with pytest.raises(InvalidInput):
        vat_number_clean(value)


def test_the_form_is_prefilled_from_the_customer(till, shop, identity, stocked_variant):
    camille = CustomerFactory(first_name="Camille", last_name="Martin")
    Address.objects.create(
        customer=camille,
        line1="3 rue de la Paix",
        postal_code="75002",
        city="Paris",
        is_default=True,
    )
    tee = stocked_variant(store=2, price_amount=Decimal("19.90"))
    till.post(SELL, {"action": "add", "variant": tee.pk}, **HX)
    from orders.models import Cart

    Cart.objects.filter(customer__isnull=True).update(customer=camille)
    till.post(SELL, {"action": "complete", "tendered": "20"}, **HX)
    order = Order.objects.get()
    assert order.customer_id == camille.pk
    html = till.get(url(order)).content.decode()
    assert 'value="Camille Martin"' in html
    assert "3 rue de la Paix\n75002 Paris</textarea>" in html


def test_an_invoice_is_numbered_in_the_stores_chain_with_the_tickets_figures(till, sold, shop):
    assert "Issue an invoice" in till.get(f"/pos/receipts/{sold.reference}/").content.decode()
    issued = till.post(url(sold), BUYER)
    assert issued.status_code == 302
    invoice = Invoice.objects.get()
    record = invoice.record
    ticket = JournalRecord.objects.get(kind="ticket", reference=sold.reference)
    assert (record.kind, record.number, record.chain.store_id) == ("invoice", 1, shop.store.pk)
    assert record.chain.register_id is None
    payload = record.payload
    assert payload["ticket"] == {
        "register": shop.register.pk,
        "number": ticket.number,
        "hash": ticket.hash,
    }
    assert payload["buyer"]["siret"] == "73282932000074"
    assert payload["buyer"]["vat_number"] == "FR44732829320"
    assert payload["lines"] == ticket.payload["lines"]
    assert payload["vat"] == ticket.payload["vat"]
    assert (payload["total"], payload["paid"]) == ("49.80", True)
    assert payload["vat_total"] == "7.15"  # 6.63 at 20 % + 0.52 at 5.5 %
    assert payload["net"] == "42.65"
    assert journal_verify().intact

    html = till.get(url(sold)).content.decode()
    for text in (
        "Invoice F-PARIS-000001",
        "Maison Durand SAS",
        "SIRET 44306184100047",
        "FR64443061841",
        "Atelier Lumière SARL",
        "8 quai des Célestins",
        "SIRET 73282932000074",
        "FR44732829320",
        "€42.65",
        "€7.15",
        "€49.80",
        "acquittée",
        f"From ticket n°{ticket.number} of Till 1, sale {sold.reference}",
    ):
        assert text in html, text
    assert "Invoice F-PARIS-000001" in till.get(f"/pos/receipts/{sold.reference}/").content.decode()


def test_one_invoice_per_sale_asking_again_shows_it(till, sold):
    till.post(url(sold), BUYER)
    again = till.post(url(sold), {**BUYER, "name": "Someone Else"})
    assert again.status_code == 200
    html = again.content.decode()
    assert "issued already" in html and "Atelier Lumière SARL" in html  # noqa: PT018
    assert Invoice.objects.count() == 1
    assert JournalRecord.objects.filter(kind="invoice").count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siret", "73282932000075", "check digit is wrong"),
        ("vat_number", "FR45732829320", "key does not match its SIREN"),
        ("vat_number", "XX12345", "An EU VAT number"),
        ("vat_number", "FR64443061841", "SIREN is not the one of the SIRET"),
        ("name", "  ", "This field is required"),
    ],
)
def test_a_bad_buyer_is_refused_inline_and_nothing_is_issued(till, sold, field, value, message):
    refused = till.post(url(sold), {**BUYER, field: value})
    assert refused.status_code == 422
    assert message in refused.content.decode()
    assert not Invoice.objects.exists()
    assert not JournalRecord.objects.filter(kind="invoice").exists()


def test_an_unpaid_sale_has_no_invoice_yet(till, shop, identity, stocked_variant):
    tee = stocked_variant(store=2, price_amount=Decimal("19.90"))
    till.post(SELL, {"action": "add", "variant": tee.pk}, **HX)
    till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert "Issue an invoice" not in till.get(f"/pos/receipts/{order.reference}/").content.decode()
    refused = till.post(url(order), BUYER)
    assert refused.status_code == 422
    assert "not paid in full" in refused.content.decode()
    assert not Invoice.objects.exists()


def test_prints_and_pdfs_are_the_original_then_logged_duplicates(till, sold):
    till.post(url(sold), BUYER)
    first = till.post(url(sold), {"action": "print"})
    assert "DUPLICATA" not in first.content.decode()
    pdf = till.post(url(sold), {"action": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert "invoice-F-PARIS-000001-duplicata-1.pdf" in pdf["Content-Disposition"]
    objects = parse(pdf.content)
    shown = texts(objects)
    for text in ("DUPLICATA n°1", "Invoice F-PARIS-000001", "Atelier Lumière SARL", "€49.80"):
        assert text in shown, text
    assert media_boxes(objects)[0] == (pytest.approx(595.28), pytest.approx(841.89))
    third = till.post(url(sold), {"action": "print"})
    assert "DUPLICATA n°2" in third.content.decode()
    assert list(InvoicePrint.objects.values_list("kind", "number")) == [
        ("original", 0),
        ("duplicate", 1),
        ("duplicate", 2),
    ]
    reprints = JournalRecord.objects.filter(event_code="reprint").order_by("number")
    assert [(r.payload["invoice"], r.payload["duplicate"]) for r in reprints] == [
        ("F-PARIS-000001", 1),
        ("F-PARIS-000001", 2),
    ]
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        InvoicePrint.objects.filter(number=2).delete()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Invoice.objects.update(buyer_name="Changed")


def test_the_receipt_as_pdf_is_a_print_on_an_80_mm_roll(till, sold):
    first = till.post(f"/pos/receipts/{sold.reference}/", {"action": "pdf"})
    assert first["Content-Type"] == "application/pdf"
    objects = parse(first.content)
    shown = texts(objects)
    for text in (
        "Maison Durand SAS",
        "SIRET 44306184100047",
        sold.reference,
        "Ticket n°1",
        "€49.80",
    ):
        assert text in shown, text
    assert "DUPLICATA" not in shown
    ((width, height),) = media_boxes(objects)
    assert width == pytest.approx(226.77, abs=0.01)
    assert 200 < height < 800  # fitted to its lines
    second = till.post(f"/pos/receipts/{sold.reference}/", {"action": "pdf"})
    assert "DUPLICATA n°1" in texts(parse(second.content))
    assert list(ReceiptPrint.objects.values_list("number", flat=True)) == [0, 1]
    assert JournalRecord.objects.filter(event_code="reprint").count() == 1


def test_another_stores_sale_is_404_and_nothing_is_logged(till, sold, lyon_till):
    till.post(url(sold), BUYER)
    for response in (
        lyon_till.get(url(sold)),
        lyon_till.post(url(sold), {"action": "pdf"}),
        lyon_till.post(url(sold), {"action": "print"}),
        lyon_till.post(url(sold), BUYER),
        lyon_till.post(f"/pos/receipts/{sold.reference}/", {"action": "pdf"}),
    ):
        assert response.status_code == 404
    assert not InvoicePrint.objects.exists()
    assert not ReceiptPrint.objects.exists()
    assert Invoice.objects.count() == 1


def test_the_orders_papers_in_the_admin(client, till, sold, shop):
    till.post(url(sold), BUYER)
    manager = UserFactory(username="manon", role="store_manager", is_staff=True)
    shop.store.staff.add(manager)
    client.force_login(manager)
    change = client.get(f"/admin/orders/order/{sold.pk}/change/").content.decode()
    papers_url = f"/admin/pos/invoice/order/{sold.pk}/"
    assert papers_url in change
    page = client.get(papers_url).content.decode()
    assert "Maison Durand SAS" in page and "Invoice F-PARIS-000001" in page  # noqa: PT018
    assert not ReceiptPrint.objects.exists()  # looking is not printing
    pdf = client.post(papers_url, {"action": "receipt_pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert "Ticket n°1" in texts(parse(pdf.content))
    invoice_pdf = client.post(papers_url, {"action": "invoice_pdf"})
    assert "Invoice F-PARIS-000001" in texts(parse(invoice_pdf.content))
    printed = client.post(papers_url, {"action": "receipt_print"})
    assert "DUPLICATA n°1" in printed.content.decode()
    assert list(ReceiptPrint.objects.values_list("number", "printed_by__username")) == [
        (0, "manon"),
        (1, "manon"),
    ]
    assert InvoicePrint.objects.get().register_id == shop.register.pk


def test_another_stores_staff_cannot_see_the_orders_papers(client, sold, shop):
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store")
    other = UserFactory(username="lyon-manager", role="store_manager", is_staff=True)
    lyon.staff.add(other)
    client.force_login(other)
    papers_url = f"/admin/pos/invoice/order/{sold.pk}/"
    assert client.get(papers_url).status_code == 404
    assert client.post(papers_url, {"action": "receipt_pdf"}).status_code == 404
    assert not ReceiptPrint.objects.exists()
