"""A sale's invoice at the till (``pos.invoices``), from its receipt: the form (buyer's
company name, billing address, optional SIRET and VAT number, prefilled from the
customer), then the invoice itself, printable on A4 and downloadable as a PDF, each print
logged (the original, then "DUPLICATA n°k"). Asking again shows the invoice already
issued. Only the sales of this register's store: another's is "no such sale"."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from orders.models import Order
from pos.documents import invoice_pdf_printed, pdf_response
from pos.invoices import (
    buyer_clean,
    buyer_prefill,
    invoice_document,
    invoice_issue,
    invoice_of,
    invoice_print,
    sale_ticket_here,
)
from pos.messages import seller_message
from pos.web.common import register_current, register_pick, seller_login_required
from pos.web.receipts import order_here
from unicommerce.exceptions import DomainError, InvalidInput, NotFound


class InvoiceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Company name"), max_length=150)
    address = forms.CharField(
        label=gettext_lazy("Billing address"),
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    siret = forms.CharField(label=gettext_lazy("SIRET (optional)"), required=False, max_length=20)
    vat_number = forms.CharField(
        label=gettext_lazy("VAT number (optional)"), required=False, max_length=20
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.buyer = buyer_clean(
                name=data["name"],
                address=data["address"],
                siret=data.get("siret", ""),
                vat_number=data.get("vat_number", ""),
            )
        except InvalidInput as error:
            self.add_error(error.details.get("field") or None, error.message)
        return data


@seller_login_required
def invoice(request: HttpRequest, reference: str) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    order = order_here(request, reference)
    try:
        sale_ticket_here(order, register)
    except NotFound:
        raise Http404(_("No such sale at this store.")) from None
    existing = invoice_of(order)
    context: dict = {"register": register, "order": order}
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if existing is not None and action == "issue":
        context["already"] = True
    if existing is not None and action == "pdf":
        content, filename = invoice_pdf_printed(
            invoice=existing, register=register, user=request.user, language=get_language() or "fr"
        )
        return pdf_response(content, filename)
    if existing is not None and action == "print":
        context["printed"] = invoice_print(invoice=existing, register=register, user=request.user)
    status = 200
    if existing is None:
        status = _form(request, register, order, context)
        if status == 302:
            return redirect("pos:invoice", reference=order.reference)
        existing = invoice_of(order)
    if existing is not None:
        context["document"] = invoice_document(existing)
    return TemplateResponse(request, "pos/invoice.html", context, status=status)


def _form(request: HttpRequest, register, order: Order, context: dict) -> int:
    """The form, or the invoice issued from it (302)."""
    if request.method != "POST" or request.POST.get("action") != "issue":
        context["form"] = InvoiceForm(initial=buyer_prefill(order))
        return 200
    form = InvoiceForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return 422
    try:
        invoice_issue(order=order, register=register, user=request.user, buyer=form.buyer)
    except DomainError as error:
        context["error"] = seller_message(error)
        return 422
    return 302
