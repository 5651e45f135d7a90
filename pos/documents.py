"""The receipt and the invoice as PDF files (``pos.pdf``): the receipt on an 80 mm roll
in Courier, 42 columns like a thermal printer, its page as tall as its lines; the invoice
on A4. They say what the HTML pages say, and "DUPLICATA n°k" on a reprint (a PDF is a
print: ``receipt_pdf_printed`` / ``invoice_pdf_printed`` log it, then draw it)."""

from __future__ import annotations

import textwrap
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pos.invoices import invoice_document, invoice_print
from pos.pdf import A4, Page, mm, pdf_bytes
from pos.receipts import receipt_of, receipt_print
from unicommerce.money import money_format

COLUMNS = 42
ROLL_WIDTH = mm(80)
ROLL_MARGIN = mm(4)
ROLL_SIZE = 8  # Courier 8 pt: 4.8 pt a character, 42 characters in 72 mm
ROLL_LEADING = 10


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _pair(left: str, right: str, width: int = COLUMNS) -> list[str]:
    """``left`` and ``right`` on one line of ``width`` characters (``left`` wrapped above
    when both do not fit)."""
    room = width - len(right) - 1
    wrapped = textwrap.wrap(left, max(room, 8)) or [""]
    *first, last = wrapped
    return [*first, last.ljust(room) + " " + right]


def _centred(text: str) -> list[str]:
    return [line.center(COLUMNS).rstrip() for line in textwrap.wrap(text, COLUMNS)]


class _Roll:
    """Lines of a receipt, each (text, bold); ``---`` a dashed rule."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bool]] = []

    def add(self, lines: list[str], *, bold: bool = False) -> None:
        self.lines += [(line, bold) for line in lines]

    def rule(self) -> None:
        self.lines.append(("-" * COLUMNS, False))

    def pdf(self, *, title: str, author: str) -> bytes:
        height = ROLL_MARGIN * 2 + ROLL_LEADING * (len(self.lines) + 1)
        page = Page(ROLL_WIDTH, height)
        for index, (text, bold) in enumerate(self.lines, start=1):
            top = ROLL_MARGIN + ROLL_LEADING * index
            font = "Courier-Bold" if bold else "Courier"
            page.text(ROLL_MARGIN, top, text, font=font, size=ROLL_SIZE)
        return pdf_bytes([page], title=title, author=author)


def _identity_lines(roll: _Roll, identity) -> None:
    if identity is None:
        return
    roll.add(_centred(identity.legal_name), bold=True)
    roll.add(_centred(identity.address))
    roll.add(_centred(f"{identity.postal_code} {identity.city}"))
    if identity.phone:
        roll.add(_centred(identity.phone))
    roll.add(_centred(f"{_('SIRET')} {identity.siret}"))
    roll.add(_centred(f"{_('VAT no.')} {identity.vat_number}"))


def receipt_pdf(receipt, *, register, duplicate: int, language: str) -> bytes:
    """The receipt (``pos.receipts.Receipt``) on an 80 mm roll."""
    order = receipt.order

    def money(amount: Decimal) -> str:
        return money_format(amount, order.currency, language)

    roll = _Roll()
    if duplicate:
        roll.add(_centred(_("DUPLICATA n°%(k)s") % {"k": duplicate}), bold=True)
        roll.rule()
    _identity_lines(roll, receipt.identity)
    where = [register.location.name]
    if receipt.ticket is not None:
        where += [
            receipt.ticket.chain.register.name,
            _("Ticket n°%(n)s") % {"n": receipt.ticket.number},
        ]
    roll.add(_centred(" · ".join([*where, order.reference])))
    seller = order.created_by
    when = _when(order.created_at)
    if seller is not None:
        name = seller.first_name or seller.get_username()
        when += " · " + _("Seller: %(who)s") % {"who": name}
    roll.add(_centred(when))
    roll.rule()
    for line in receipt.lines:
        code = receipt.codes.get(line.vat_rate, "")
        roll.add(_pair(f"{line.quantity} × {line.name}", f"{money(line.subtotal_amount)} {code}"))
        for applied in line.discounts:
            label = applied.label + (f" ({applied.code})" if applied.code else "")
            roll.add(_pair("  " + label, f"−{money(applied.amount)}  "))
    roll.rule()
    roll.add(_pair(_("Total incl. VAT"), money(order.total_amount) + "  "), bold=True)
    _vat_lines(roll, receipt.vat, money)
    roll.rule()
    for payment in receipt.payments:
        amount = payment.tendered_amount or payment.amount
        roll.add(_pair(str(payment.get_method_display()).capitalize(), money(amount)))
    if receipt.change:
        roll.add(_pair(_("Change given"), money(receipt.change)))
    if receipt.identity is not None and receipt.identity.footer:
        roll.rule()
        roll.add(_centred(receipt.identity.footer))
    if receipt.ticket is not None:
        roll.add(_centred(f"{_('Journal')} {receipt.ticket.hash[:16]}"))
    return roll.pdf(title=_("Receipt %(reference)s") % {"reference": order.reference}, author="")


def _vat_lines(roll: _Roll, rows, money) -> None:
    head = f"{_('VAT'):<9}{_('Excl. VAT'):>11}{_('VAT'):>11}{_('Incl. VAT'):>11}"
    roll.add([head[:COLUMNS]])
    for row in rows:
        rate = f"{row.code} {row.rate.normalize():f} %"
        roll.add([f"{rate:<9}{money(row.net):>11}{money(row.vat):>11}{money(row.gross):>11}"])


# --- The invoice, A4 --------------------------------------------------------------------

LEFT, RIGHT = mm(18), A4[0] - mm(18)


class _Sheet:
    """An A4 page being written from the top; a new page when the bottom is reached."""

    def __init__(self, header: str) -> None:
        self.pages: list[Page] = []
        self.header = header
        self._new()

    def _new(self) -> None:
        self.page = Page(*A4)
        self.pages.append(self.page)
        self.top = mm(18)
        if len(self.pages) > 1:
            self.write(LEFT, self.header, size=8)
            self.down(14)

    def down(self, points: float) -> None:
        self.top += points
        if self.top > A4[1] - mm(20):
            self._new()

    def write(self, x: float, text: str, *, size: float = 9, bold: bool = False) -> None:
        self.page.text(x, self.top, text, font="Helvetica-Bold" if bold else "Helvetica", size=size)

    def figure(self, right: float, text: str, *, size: float = 9, bold: bool = False) -> None:
        font = "Courier-Bold" if bold else "Courier"
        self.page.text(right, self.top, text, font=font, size=size, align="right")

    def rule(self) -> None:
        self.page.rule(LEFT, self.top + 4, RIGHT, self.top + 4)
        self.down(14)


def _parties(sheet: _Sheet, payload: dict, invoice) -> None:
    seller, buyer = payload["seller"], payload["buyer"]
    middle = A4[0] / 2 + mm(5)
    sheet.write(LEFT, seller["legal_name"], size=11, bold=True)
    sheet.write(middle, _("Bill to"), size=8)
    sheet.down(13)
    rows_left = [
        seller["address"],
        f"{_('SIRET')} {seller['siret']}",
        f"{_('VAT no.')} {seller['vat_number']}",
    ]
    rows_right = [buyer["name"], *buyer["address"].splitlines()]
    if buyer["siret"]:
        rows_right.append(f"{_('SIRET')} {buyer['siret']}")
    if buyer["vat_number"]:
        rows_right.append(f"{_('VAT no.')} {buyer['vat_number']}")
    for index in range(max(len(rows_left), len(rows_right))):
        if index < len(rows_left):
            sheet.write(LEFT, rows_left[index])
        if index < len(rows_right):
            sheet.write(middle, rows_right[index], bold=index == 0)
        sheet.down(12)


def invoice_pdf(document, *, duplicate: int, language: str) -> bytes:
    """The invoice (``pos.invoices.InvoiceDocument``) on A4 pages."""
    invoice, payload = document.invoice, document.payload

    def money(amount: Decimal) -> str:
        return money_format(amount, payload["currency"], language)

    title = _("Invoice %(number)s") % {"number": invoice.label}
    sheet = _Sheet(title)
    if duplicate:
        sheet.write(RIGHT - mm(50), _("DUPLICATA n°%(k)s") % {"k": duplicate}, size=12, bold=True)
    sheet.write(LEFT, title, size=16, bold=True)
    sheet.down(16)
    sheet.write(LEFT, _("Date: %(date)s") % {"date": _when(invoice.issued_at)})
    sheet.down(12)
    if document.ticket is not None:
        ticket = _("From ticket n°%(n)s of %(register)s, sale %(reference)s, %(date)s") % {
            "n": document.ticket.number,
            "register": document.ticket.chain.register.name,
            "reference": payload["order"],
            "date": _when(invoice.order.created_at),
        }
        sheet.write(LEFT, ticket, size=8)
        sheet.down(22)
    _parties(sheet, payload, invoice)
    sheet.down(10)
    _invoice_lines(sheet, document, money)
    _invoice_totals(sheet, document, money)
    sheet.down(8)
    sheet.write(LEFT, _("Paid in full at the till (acquittée)."), bold=True)
    sheet.down(12)
    sheet.write(LEFT, f"{_('Journal')} {invoice.record.hash[:32]}", size=7)
    return pdf_bytes(sheet.pages, title=title, author=payload["seller"]["legal_name"])


COLUMNS_AT = {"qty": mm(118), "net": mm(140), "rate": mm(156), "vat": mm(174), "total": RIGHT}


def _invoice_lines(sheet: _Sheet, document, money) -> None:
    sheet.write(LEFT, _("Item"), bold=True, size=8)
    for key, label in (
        ("qty", _("Qty")),
        ("net", _("Excl. VAT")),
        ("rate", _("VAT %")),
        ("vat", _("VAT")),
        ("total", _("Incl. VAT")),
    ):
        sheet.figure(COLUMNS_AT[key], label, size=8, bold=True)
    sheet.rule()
    for line in document.lines:
        for part in textwrap.wrap(f"{line.name} ({line.sku})", 60)[:2]:
            sheet.write(LEFT, part, size=8)
            sheet.down(10)
        sheet.top -= 10
        sheet.figure(COLUMNS_AT["qty"], str(line.quantity), size=8)
        sheet.figure(COLUMNS_AT["net"], money(line.net), size=8)
        sheet.figure(COLUMNS_AT["rate"], f"{line.vat_rate.normalize():f}", size=8)
        sheet.figure(COLUMNS_AT["vat"], money(line.vat), size=8)
        sheet.figure(COLUMNS_AT["total"], money(line.total), size=8)
        sheet.down(12)
        if line.discount:
            sheet.write(
                LEFT + mm(4),
                _("discount included: %(amount)s") % {"amount": money(line.discount)},
                size=7,
            )
            sheet.down(10)
    sheet.rule()


def _invoice_totals(sheet: _Sheet, document, money) -> None:
    sheet.write(LEFT, _("VAT per rate"), bold=True, size=8)
    sheet.figure(COLUMNS_AT["net"], _("Excl. VAT"), size=8, bold=True)
    sheet.figure(COLUMNS_AT["vat"], _("VAT"), size=8, bold=True)
    sheet.figure(COLUMNS_AT["total"], _("Incl. VAT"), size=8, bold=True)
    sheet.down(12)
    for row in document.vat:
        sheet.write(LEFT, f"{row.rate.normalize():f} %", size=8)
        sheet.figure(COLUMNS_AT["net"], money(row.net), size=8)
        sheet.figure(COLUMNS_AT["vat"], money(row.vat), size=8)
        sheet.figure(COLUMNS_AT["total"], money(row.gross), size=8)
        sheet.down(12)
    sheet.rule()
    for label, amount, bold in (
        (_("Total excl. VAT"), document.net, False),
        (_("Total VAT"), document.vat_total, False),
        (_("Total incl. VAT"), document.total, True),
    ):
        sheet.write(COLUMNS_AT["rate"] - mm(40), label, bold=bold)
        sheet.figure(RIGHT, money(amount), bold=bold, size=9)
        sheet.down(13)


def _filename(kind: str, name: str, duplicate: int) -> str:
    return f"{kind}-{name}{f'-duplicata-{duplicate}' if duplicate else ''}.pdf"


def receipt_pdf_printed(*, order, register, user, language: str) -> tuple[bytes, str]:
    """A print of ``order``'s receipt as a PDF (logged first: the original, then
    DUPLICATA n°k): its bytes and its file name. The till and the admin both call it."""
    printed = receipt_print(order=order, register=register, user=user)
    content = receipt_pdf(
        receipt_of(order), register=register, duplicate=printed.number, language=language
    )
    return content, _filename("receipt", order.reference, printed.number)


def invoice_pdf_printed(*, invoice, register, user, language: str) -> tuple[bytes, str]:
    """A print of ``invoice`` as a PDF, logged like ``receipt_pdf_printed``."""
    printed = invoice_print(invoice=invoice, register=register, user=user)
    content = invoice_pdf(invoice_document(invoice), duplicate=printed.number, language=language)
    return content, _filename("invoice", invoice.label, printed.number)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    """A PDF as a download, never cached (the till's and the admin's)."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
