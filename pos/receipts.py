"""A sale's receipt, as French law wants it (issue 15): the seller's legal identity
(legal name, address, SIRET, VAT number: ``StoreIdentity`` of the store), the store,
the ticket number, date and time, each line with its VAT code and its discounts, the VAT
per rate (HT, TVA, TTC), the tenders and the change, and the seller. Since 2023 no paper
ticket is printed unless the customer asks: the till shows it, prints it on request (the
first print is the original, each later one "DUPLICATA n°k", logged, never deleted), or
sends it by e-mail or SMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from customers.emails import email_normalised
from customers.phones import phone_e164
from orders.models import Order
from payments.models import Payment
from pos.fiscal.events import E, jet_record
from pos.fiscal.tickets import VatRow, order_vat_rows, ticket_of
from pos.models import JournalRecord, PrintLog, ReceiptPrint, Register, StoreIdentity
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.messaging.services import message_send
from unicommerce.money import money_format

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass
class Receipt:
    order: Order
    identity: StoreIdentity | None
    vat: list[VatRow]
    codes: dict[Decimal, str]  # VAT rate -> the letter printed on each line
    payments: list[Payment]
    change: Decimal
    prints: int = 0
    lines: list = field(default_factory=list)
    ticket: JournalRecord | None = None  # its record in the register's fiscal chain


def receipt_of(order: Order) -> Receipt:
    """The receipt of ``order`` (its lines, payments, the store's identity, the prints
    so far)."""
    lines = list(order.lines.select_related("location").order_by("id"))
    vat = order_vat_rows(lines)
    codes = {row.rate: row.code for row in vat}
    store_id = next((line.location_id for line in lines if line.fulfilment == "taken_now"), None)
    identity = StoreIdentity.objects.filter(location_id=store_id).first() if store_id else None
    captured = ("captured", "partially_refunded", "refunded")  # the tenders of the sale
    payments = list(Payment.objects.filter(order=order, status__in=captured).order_by("id"))
    change = sum((p.change_amount or Decimal("0.00") for p in payments), Decimal("0.00"))
    prints = ReceiptPrint.objects.filter(order=order).count()
    ticket = ticket_of(order)
    return Receipt(order, identity, vat, codes, payments, change, prints, lines, ticket)


@transaction.atomic
def store_identity_save(*, identity: StoreIdentity, changed: list[str], user) -> StoreIdentity:
    """Save what a store's receipts say about the seller; the change is a technical
    event of the store (JET), in the same transaction."""
    identity.full_clean()
    identity.save()
    jet_record(
        chain=identity.location,
        code=E.RECEIPT_SETTINGS_CHANGE,
        reference=f"store:{identity.location_id}",
        payload={
            "by": user.pk,
            "fields": sorted(changed),
            "values": {name: str(getattr(identity, name)) for name in sorted(changed)},
        },
    )
    return identity


class ReceiptOfAnotherStore(DomainError):
    code = "receipt_of_another_store"
    http_status = 403

    def __init__(self, *, store: str) -> None:
        super().__init__(
            _("This sale was made at %(store)s: its receipt is printed there.") % {"store": store}
        )


def print_logged(
    model: type[PrintLog], *, owner: dict, register: Register, user, reference: str, event: dict
) -> PrintLog:
    """Log the next print of a paper (``model``: ``ReceiptPrint`` or ``InvoicePrint``;
    ``owner``: its key, e.g. ``{"order": order}``), the caller holding the paper's row
    lock: the original the first time, then duplicates numbered from 1, each a JET
    ``reprint`` of the printing register (``event`` and the duplicate's number)."""
    last = model.objects.filter(**owner).aggregate(n=Max("number"))["n"]
    number = 0 if last is None else last + 1
    printed = model.objects.create(
        **owner,
        kind=model.Kind.ORIGINAL if number == 0 else model.Kind.DUPLICATE,
        number=number,
        register=register,
        printed_by=user,
    )
    if number:
        jet_record(
            chain=register,
            code=E.REPRINT,
            reference=reference,
            payload={**event, "duplicate": number, "by": user.pk},
        )
    return printed


@transaction.atomic
def receipt_print(*, order: Order, register: Register, user: AbstractBaseUser) -> ReceiptPrint:
    """Log a print of the receipt (``print_logged``; the order's row is locked, so two
    tills never take the same number). A till sale's receipt is printed by its own
    store's registers only (a seller working in two stores cannot reprint one store's
    tickets at the other's till)."""
    ticket = ticket_of(order)
    if ticket is not None and ticket.chain.register.location_id != register.location_id:
        raise ReceiptOfAnotherStore(store=ticket.chain.register.location.name)
    Order.objects.select_for_update().filter(pk=order.pk).first()
    return print_logged(
        ReceiptPrint,
        owner={"order": order},
        register=register,
        user=user,
        reference=order.reference,
        event={"order": order.reference},
    )


class ReceiptRecipientInvalid(InvalidInput):
    code = "receipt_recipient_invalid"

    def __init__(self) -> None:
        super().__init__(_("Type the customer's e-mail or mobile number."), field="to")


def _text(receipt: Receipt, language: str) -> str:
    order = receipt.order

    def money(amount):
        return money_format(amount, order.currency, language)

    parts = []
    if receipt.identity is not None:
        parts.append(receipt.identity.legal_name)
    parts.append(_("Receipt %(reference)s") % {"reference": order.reference})
    parts += [
        f"{line.quantity} × {line.name}: {money(line.total_amount)}" for line in receipt.lines
    ]
    parts.append(_("Total: %(total)s") % {"total": money(order.total_amount)})
    parts += [
        _("VAT %(rate)s %%: %(vat)s") % {"rate": f"{row.rate:g}", "vat": money(row.vat)}
        for row in receipt.vat
    ]
    return "\n".join(parts)


def receipt_send(*, order: Order, to: str, register: Register, language: str = "fr") -> str:
    """Send the receipt to the customer, on request: by e-mail (the whole receipt as
    text) or SMS (its figures). ``to``: an e-mail address or a mobile number. Counts
    against the SMS limits like every SMS (``message_send``)."""
    to = (to or "").strip()
    receipt = receipt_of(order)
    body = _text(receipt, language)
    if "@" in to:
        try:
            address = email_normalised(to)
        except InvalidInput:
            raise ReceiptRecipientInvalid() from None
        message_send(
            channel="email",
            to=address,
            subject=_("Your receipt %(reference)s") % {"reference": order.reference},
            body=body,
            kind="receipt",
            customer_id=order.customer_id,
            reference=order.reference,
            sender=register.channel.code,
        )
        return "email"
    try:
        phone = phone_e164(to)
    except InvalidInput:
        raise ReceiptRecipientInvalid() from None
    message_send(
        channel="sms",
        to=phone,
        body=body[:600],
        kind="receipt",
        customer_id=order.customer_id,
        reference=order.reference,
        sender=register.channel.code,
    )
    return "sms"
