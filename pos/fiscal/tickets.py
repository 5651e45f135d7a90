"""Each completed till sale is a ticket in its register's fiscal chain, written in the
sale's own transaction (``pos.services.sale_complete``): a sale that rolls back leaves no
ticket and no hole in the numbering. The payload is what the receipt says about the sale:
its lines (with their discounts and VAT), the VAT per rate, the total, who sold it, and
its tenders as the till declared them at the sale (``tenders``: the cash kept, what the
card terminal approved, the gift card, points and store credit used; ``change``: the
cash given back), so that the closings can total per tender from the journal alone. The
payments themselves are recorded after the sale (a card's approval, a gift card) and
counted by the register's session and Z report. A ticket and a credit note carry the
register's perpetual grand total after them (``grand_total``, ``journal_append``)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from orders.models import Order, Return
from pos.fiscal.journal import journal_append
from pos.models import Invoice, JournalKind, JournalRecord, Register


@dataclass
class VatRow:
    code: str
    rate: Decimal
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")


def order_vat_rows(lines) -> list[VatRow]:
    """The VAT per rate of an order's lines as stored on them (after their discounts):
    incl. VAT, VAT and excl. VAT, highest rate first, each with the letter printed on
    its lines (A, B…). The sale-done panel, the receipt and the ticket all read it."""
    rates = sorted({line.vat_rate for line in lines}, reverse=True)
    rows = {rate: VatRow(string.ascii_uppercase[i], rate) for i, rate in enumerate(rates)}
    for line in lines:
        row = rows[line.vat_rate]
        row.vat += line.vat_amount or Decimal("0.00")
        row.gross += line.total_amount
    for row in rows.values():
        row.net = row.gross - row.vat
    return [rows[rate] for rate in rates]


def _money(amount: Decimal | None) -> str:
    return f"{(amount or Decimal('0')):.2f}"


def _tenders(tenders: dict[str, Decimal] | None) -> dict[str, str]:
    """Per tender code, the amount (zero amounts left out)."""
    return {code: _money(amount) for code, amount in sorted((tenders or {}).items()) if amount}


def ticket_payload(
    order: Order,
    *,
    seller_id: int | None,
    tenders: dict[str, Decimal] | None = None,
    change: Decimal | None = None,
) -> dict:
    lines = list(order.lines.all())
    return {
        "order": order.reference,
        "currency": order.currency,
        "seller": seller_id,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price_amount),
                "discount": _money(line.discount_amount),
                "total": _money(line.total_amount),
                "vat_rate": f"{line.vat_rate:.1f}",
                "vat": _money(line.vat_amount),
            }
            for line in lines
        ],
        "vat": [
            {
                "rate": f"{row.rate:.1f}",
                "gross": _money(row.gross),
                "vat": _money(row.vat),
                "net": _money(row.net),
            }
            for row in sorted(order_vat_rows(lines), key=lambda row: row.rate)
        ],
        "discount": _money(order.discount_amount),
        "total": _money(order.total_amount),
        "tenders": _tenders(tenders),
        "change": _money(change),
    }


def sale_ticket_record(
    *,
    order: Order,
    register: Register,
    seller_id: int | None,
    tenders: dict[str, Decimal] | None = None,
    change: Decimal | None = None,
) -> JournalRecord:
    """The ticket of a till sale, appended to ``register``'s ticket chain, with its
    tenders (code → amount; none for an order paid later) and the change given."""
    return journal_append(
        chain=register,
        kind=JournalKind.TICKET,
        payload=ticket_payload(order, seller_id=seller_id, tenders=tenders, change=change),
        reference=order.reference,
        occurred_at=order.created_at,
        signed_total=order.total_amount,
    )


def ticket_of(order: Order) -> JournalRecord | None:
    """The ticket recorded for ``order`` (a till sale), with its register."""
    return (
        JournalRecord.objects.filter(kind=JournalKind.TICKET, reference=order.reference)
        .select_related("chain", "chain__register")
        .first()
    )


def return_credit_note_record(*, ret, register: Register, seller_id: int | None) -> JournalRecord:
    """A return taken at the till is a credit note in ``register``'s chain: what comes
    back, what it is worth (what was paid for it), the ticket it corrects, what it gives
    back per tender (``credit_note_tenders``) and the register's grand total after it.
    A paid ticket is never changed: the credit note is the correction."""
    returned = list(ret.lines.select_related("order_line").order_by("id"))
    lines = [
        {
            "sku": line.order_line.sku,
            "quantity": line.quantity,
            "amount": _money(line.amount),
            "vat_rate": f"{line.order_line.vat_rate:.1f}",
            "vat": _money(_returned_vat(line)),
            "reason": line.reason,
        }
        for line in returned
    ]
    return journal_append(
        chain=register,
        kind=JournalKind.CREDIT_NOTE,
        payload={
            "return": ret.pk,
            "order": ret.order.reference,
            "currency": ret.currency,
            "seller": seller_id,
            "lines": lines,
            "vat": _credit_note_vat(lines),
            "total": _money(ret.amount),
            "outcome": ret.outcome,
            "tenders": _tenders(credit_note_tenders(ret)),
            **invoice_reference(ret.order),
        },
        reference=ret.order.reference,
        occurred_at=ret.created_at,
        signed_total=-ret.amount,
    )


def _returned_vat(line) -> Decimal:
    """The VAT of what a return line gives back: its share of the order line's VAT, as
    its amount is its share of what was paid for the line."""
    order_line = line.order_line
    if not order_line.total_amount:
        return Decimal("0.00")
    share = (order_line.vat_amount or Decimal("0")) * line.amount / order_line.total_amount
    return share.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _credit_note_vat(lines: list[dict]) -> list[dict]:
    """The credit note's VAT per rate (incl. VAT, VAT, excl. VAT), like a ticket's: the
    closings take it off the period's VAT."""
    rows: dict[str, list[Decimal]] = {}
    for line in lines:
        row = rows.setdefault(line["vat_rate"], [Decimal("0"), Decimal("0")])
        row[0] += Decimal(line["amount"])
        row[1] += Decimal(line["vat"])
    return [
        {"rate": rate, "gross": _money(gross), "vat": _money(vat), "net": _money(gross - vat)}
        for rate, (gross, vat) in sorted(rows.items(), key=lambda item: Decimal(item[0]))
    ]


def credit_note_tenders(ret) -> dict[str, Decimal]:
    """What a credit note gives back, as known when it is written (the return is
    recorded before it is settled): store credit for that outcome; a refund's tender
    (cash at the till or the original payments) is chosen at its settlement, so it is
    written under ``refund``; an exchange gives no money back (its new goods are
    another ticket)."""
    if ret.outcome == Return.Outcome.STORE_CREDIT:
        return {"store_credit": ret.amount}
    if ret.outcome == Return.Outcome.REFUND:
        return {"refund": ret.amount}
    return {}


# --- Invoices (issue 15: for a business customer, on request) ----------------------------


def invoice_payload(
    *, order: Order, ticket: JournalRecord, buyer: dict[str, str], seller: dict[str, str]
) -> dict:
    """What an invoice says, hashed in the store's invoice chain: the ticket it comes
    from (its register, number and hash), the seller's and the buyer's identities, and
    the sale's lines, VAT per rate and totals exactly as its ticket has them
    (``ticket_payload``); paid in full at the till ("acquittée")."""
    sale = ticket_payload(order, seller_id=None)
    return {
        "order": order.reference,
        "currency": sale["currency"],
        "ticket": {
            "register": ticket.chain.register_id,
            "number": ticket.number,
            "hash": ticket.hash,
        },
        "seller": seller,
        "buyer": buyer,
        "lines": sale["lines"],
        "vat": sale["vat"],
        "discount": sale["discount"],
        "total": sale["total"],
        "net": _money(sum((Decimal(row["net"]) for row in sale["vat"]), Decimal("0"))),
        "vat_total": _money(sum((Decimal(row["vat"]) for row in sale["vat"]), Decimal("0"))),
        "paid": True,
    }


def invoice_reference(order: Order) -> dict:
    """``{"invoice": {number, store, hash}}`` when ``order`` has an invoice (a credit
    note for it then names it too), else nothing."""
    invoice = Invoice.objects.filter(order=order).select_related("record").first()
    if invoice is None:
        return {}
    return {
        "invoice": {
            "store": invoice.store_id,
            "number": invoice.number,
            "hash": invoice.record.hash,
        }
    }
