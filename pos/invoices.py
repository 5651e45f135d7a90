"""Invoices for a business customer, on request (issue 15, "Receipts"): from the receipt of
a paid till sale the seller issues one invoice, with the buyer's company name, billing
address and, optionally, SIRET and intra-EU VAT number (their formats and check keys
validated: ``siret_clean``, ``vat_number_clean``). It is numbered without gaps in the
store's invoice chain of the fiscal journal (``JournalKind.INVOICE``, scope store), in
the same canonical form as the tickets; its payload names the ticket (register, number,
hash), the seller and the buyer, and carries the ticket's own lines, VAT per rate and
totals (``pos.fiscal.tickets.invoice_payload``). Asking again answers the same invoice.

Its prints follow the receipt's rules: the first one is the original, each later one a
"DUPLICATA n°k", logged (``InvoicePrint``, append-only) and a JET ``reprint`` event of the
register that prints it. A credit note written later for that sale names the invoice
(``pos.fiscal.tickets.invoice_reference``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Address
from orders.models import Order
from pos.fiscal.journal import journal_append
from pos.fiscal.tickets import invoice_payload, ticket_of
from pos.models import (
    Invoice,
    InvoicePrint,
    JournalKind,
    JournalRecord,
    Register,
    StoreIdentity,
)
from pos.receipts import print_logged
from unicommerce.exceptions import DomainError, InvalidInput, NotFound

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The member states' VAT prefixes (Greece: EL; Northern Ireland: XI).
EU_VAT_PREFIXES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)
LA_POSTE_SIREN = "356000000"  # its establishments' SIRETs follow another rule
PAID = (Order.PaymentStatus.PAID,)


# --- Validation ------------------------------------------------------------------------


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def siret_clean(value: str) -> str:
    """A SIRET as written on an invoice: 14 digits (spaces allowed when typed) whose
    Luhn key is right (or, for La Poste's establishments, the sum of the digits is a
    multiple of 5). ``""`` stays ``""`` (optional)."""
    siret = _compact(value)
    if not siret:
        return ""
    if not re.fullmatch(r"\d{14}", siret):
        raise InvalidInput(_("A SIRET is 14 digits."), field="siret")
    valid = luhn_valid(siret) or (
        siret.startswith(LA_POSTE_SIREN) and sum(int(d) for d in siret) % 5 == 0
    )
    if not valid:
        raise InvalidInput(_("This SIRET's check digit is wrong: check it."), field="siret")
    return siret


def vat_number_clean(value: str) -> str:
    """An intra-EU VAT number: ``FR`` + 2-digit key + the 9-digit SIREN, the key being
    (12 + 3 × (SIREN mod 97)) mod 97; another member state's: its 2-letter prefix and 2
    to 12 letters or digits. ``""`` stays ``""`` (optional)."""
    number = _compact(value)
    if not number:
        return ""
    prefix, rest = number[:2], number[2:]
    if prefix not in EU_VAT_PREFIXES or not re.fullmatch(r"[0-9A-Z]{2,12}", rest):
        raise InvalidInput(
            _("An EU VAT number: the country's 2 letters, then 2 to 12 letters or digits."),
            field="vat_number",
        )
    if prefix == "FR":
        if not re.fullmatch(r"\d{11}", rest):
            raise InvalidInput(
                _("A French VAT number is FR, a 2-digit key and the 9-digit SIREN."),
                field="vat_number",
            )
        key, siren = int(rest[:2]), int(rest[2:])
        if key != (12 + 3 * (siren % 97)) % 97:
            raise InvalidInput(
                _("This French VAT number's key does not match its SIREN: check it."),
                field="vat_number",
            )
    return number


@dataclass(frozen=True)
class Buyer:
    name: str
    address: str
    siret: str = ""
    vat_number: str = ""


def buyer_clean(*, name: str, address: str, siret: str = "", vat_number: str = "") -> Buyer:
    """The buyer as the invoice will say it, every field checked (``InvalidInput`` names
    the field at fault)."""
    name, address = (name or "").strip(), (address or "").strip()
    if not name:
        raise InvalidInput(_("Type the buyer's company name."), field="name")
    if len(name) > 150:
        raise InvalidInput(
            _("The company name is too long (150 characters at most)."), field="name"
        )
    if not address:
        raise InvalidInput(_("Type the billing address."), field="address")
    if len(address) > 400:
        raise InvalidInput(
            _("The billing address is too long (400 characters at most)."), field="address"
        )
    siret, vat_number = siret_clean(siret), vat_number_clean(vat_number)
    if siret and vat_number.startswith("FR") and vat_number[4:] != siret[:9]:
        raise InvalidInput(
            _("The VAT number's SIREN is not the one of the SIRET: check them."),
            field="vat_number",
        )
    return Buyer(name, address, siret, vat_number)


def buyer_prefill(order: Order) -> dict[str, str]:
    """What the invoice form starts with: the order's customer and their billing address
    (the default one), when the sale had a customer."""
    customer = order.customer
    if customer is None:
        return {}
    full = f"{customer.first_name} {customer.last_name}".strip()
    address = Address.objects.filter(customer=customer).order_by("-is_default", "id").first()
    lines = []
    if address is not None:
        lines = [address.line1, address.line2, f"{address.postal_code} {address.city}"]
        if address.country and address.country != "FR":
            lines.append(address.country)
    return {"name": full, "address": "\n".join(line for line in lines if line)}


# --- Issuing ---------------------------------------------------------------------------


class InvoiceNotPossible(DomainError):
    code = "invoice_not_possible"
    http_status = 409


class SaleNotHere(NotFound):
    code = "sale_not_here"

    def __init__(self) -> None:
        super().__init__(_("No such sale at this store."))


def sale_ticket_here(order: Order, register: Register) -> JournalRecord:
    """The ticket of ``order``, a sale of one of the registers of ``register``'s store;
    ``SaleNotHere`` otherwise (another store's sale, or not a till sale)."""
    ticket = ticket_of(order)
    if ticket is None or ticket.chain.register.location_id != register.location_id:
        raise SaleNotHere()
    return ticket


def _seller(identity: StoreIdentity) -> dict[str, str]:
    return {
        "legal_name": identity.legal_name,
        "address": f"{identity.address}, {identity.postal_code} {identity.city}",
        "siret": identity.siret,
        "vat_number": identity.vat_number,
    }


def invoice_of(order: Order) -> Invoice | None:
    return (
        Invoice.objects.filter(order=order).select_related("record", "store", "issued_by").first()
    )


@transaction.atomic
def invoice_issue(
    *, order: Order, register: Register, user: AbstractBaseUser, buyer: Buyer
) -> tuple[Invoice, bool]:
    """The invoice of ``order`` (a paid sale of this register's store): issued now, or
    the one issued before (``created`` False: one invoice per sale)."""
    ticket = sale_ticket_here(order, register)
    order = Order.objects.select_for_update().get(pk=order.pk)
    existing = invoice_of(order)
    if existing is not None:
        return existing, False
    if order.payment_status not in PAID:
        raise InvoiceNotPossible(
            _("This sale is not paid in full: its invoice is issued once it is.")
        )
    identity = StoreIdentity.objects.filter(location_id=register.location_id).first()
    if identity is None:
        raise InvoiceNotPossible(
            _(
                "This store's legal identity is not set (SIRET, VAT number): fill it in the "
                "back office."
            )
        )
    now = timezone.now()
    record = journal_append(
        chain=register.location,
        kind=JournalKind.INVOICE,
        payload=invoice_payload(
            order=order,
            ticket=ticket,
            buyer={
                "name": buyer.name,
                "address": buyer.address,
                "siret": buyer.siret,
                "vat_number": buyer.vat_number,
            },
            seller=_seller(identity),
        ),
        reference=order.reference,
        occurred_at=now,
    )
    invoice = Invoice.objects.create(
        order=order,
        store=register.location,
        record=record,
        number=record.number,
        buyer_name=buyer.name,
        buyer_address=buyer.address,
        buyer_siret=buyer.siret,
        buyer_vat_number=buyer.vat_number,
        issued_by=user,
        issued_at=now,
    )
    return invoice, True


@transaction.atomic
def invoice_print(*, invoice: Invoice, register: Register, user: AbstractBaseUser) -> InvoicePrint:
    """Log a print (or a PDF) of the invoice (``pos.receipts.print_logged``, the invoice's
    row locked): the original the first time, then numbered duplicates."""
    Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
    return print_logged(
        InvoicePrint,
        owner={"invoice": invoice},
        register=register,
        user=user,
        reference=invoice.order.reference,
        event={"invoice": invoice.label, "order": invoice.order.reference},
    )


# --- What the invoice page and PDF show ------------------------------------------------


@dataclass
class InvoiceLine:
    name: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal


@dataclass
class InvoiceVat:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass
class InvoiceDocument:
    """The invoice as its journal record says it (what was hashed is what is shown)."""

    invoice: Invoice
    payload: dict
    lines: list[InvoiceLine]
    vat: list[InvoiceVat]
    total: Decimal
    net: Decimal
    vat_total: Decimal
    ticket: JournalRecord | None
    credit_notes: list[JournalRecord]
    prints: int


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    payload = invoice.record.payload
    lines = [
        InvoiceLine(
            name=line["name"],
            sku=line["sku"],
            quantity=line["quantity"],
            unit_price=Decimal(line["unit_price"]),
            discount=Decimal(line["discount"]),
            vat_rate=Decimal(line["vat_rate"]),
            net=Decimal(line["total"]) - Decimal(line["vat"]),
            vat=Decimal(line["vat"]),
            total=Decimal(line["total"]),
        )
        for line in payload["lines"]
    ]
    vat = [
        InvoiceVat(Decimal(r["rate"]), Decimal(r["net"]), Decimal(r["vat"]), Decimal(r["gross"]))
        for r in payload["vat"]
    ]
    credit_notes = list(
        JournalRecord.objects.filter(
            kind=JournalKind.CREDIT_NOTE, reference=invoice.order.reference
        ).order_by("created_at", "id")
    )
    return InvoiceDocument(
        invoice=invoice,
        payload=payload,
        lines=lines,
        vat=vat,
        total=Decimal(payload["total"]),
        net=Decimal(payload["net"]),
        vat_total=Decimal(payload["vat_total"]),
        ticket=ticket_of(invoice.order),
        credit_notes=credit_notes,
        prints=InvoicePrint.objects.filter(invoice=invoice).count(),
    )
