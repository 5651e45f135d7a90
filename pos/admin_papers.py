"""An order's papers in the admin (issue 15: "available as a PDF or HTML page from the
order"): the order's change page links here (templates/admin/orders/order/change_form.html).
Its receipt and, when one was issued, its invoice, shown as on the till and printable or
downloadable as PDF; a print and a PDF are prints like on the till (the first one the
original, each later one "DUPLICATA n°k", logged with the register of the sale's ticket
and a JET ``reprint``). Staff who may view the order, within their stores only (another
store's order: 404, nothing logged). The invoices themselves are listed read-only."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orders.models import Order
from orders.selectors import order_visible_to, orders_visible_to
from pos.documents import invoice_pdf_printed, pdf_response, receipt_pdf_printed
from pos.fiscal.tickets import ticket_of
from pos.invoices import invoice_document, invoice_of, invoice_print
from pos.models import Invoice, InvoicePrint
from pos.receipts import receipt_of, receipt_print


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(_ReadOnly):
    """The invoices issued at the tills; an order's papers (receipt, invoice) from here."""

    list_display = ["label", "store", "buyer_name", "buyer_vat_number", "order", "issued_at"]
    list_filter = ["store"]
    search_fields = ["buyer_name", "buyer_siret", "buyer_vat_number"]
    list_select_related = ["store", "order"]

    def get_queryset(self, request):
        visible = orders_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(order_id__in=visible)

    def get_urls(self):
        papers = self.admin_site.admin_view(self.papers_view)
        return [
            path("order/<int:order_id>/", papers, name="pos_order_papers"),
            *super().get_urls(),
        ]

    def papers_view(self, request, order_id: int):
        if not request.user.has_perm("orders.view_order"):
            raise PermissionDenied
        order = Order.objects.filter(pk=order_id).first()
        if order is None or not order_visible_to(request.user, order):
            raise Http404(_("No such order."))
        ticket = ticket_of(order)
        invoice = invoice_of(order)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Receipt and invoice of order %(reference)s")
            % {"reference": order.reference},
            "opts": Order._meta,
            "original": order,
            "ticket": ticket,
        }
        if request.method == "POST" and ticket is not None:
            response = self._print(request, order, ticket, invoice, context)
            if response is not None:
                return response
        if ticket is not None:
            receipt = receipt_of(order)
            context.update(
                receipt=receipt,
                order=order,
                identity=receipt.identity,
                register=ticket.chain.register,
            )
        if invoice is not None:
            document = invoice_document(invoice)
            context.update(document=document, invoice=invoice, payload=document.payload)
        return TemplateResponse(request, "admin/pos/order_papers.html", context)

    def _print(self, request, order, ticket, invoice, context) -> HttpResponse | None:
        """Log a print of the receipt or the invoice (``action``): a PDF answers the file,
        a print the page with its print dialog."""
        action = request.POST.get("action", "")
        register, language = ticket.chain.register, get_language() or "fr"
        user = request.user
        if action == "receipt_pdf":
            return pdf_response(
                *receipt_pdf_printed(order=order, register=register, user=user, language=language)
            )
        if action == "invoice_pdf" and invoice is not None:
            return pdf_response(
                *invoice_pdf_printed(
                    invoice=invoice, register=register, user=user, language=language
                )
            )
        if action == "receipt_print":
            printed = receipt_print(order=order, register=register, user=user)
            context.update(receipt_printed=printed, print_what="receipt")
        elif action == "invoice_print" and invoice is not None:
            printed = invoice_print(invoice=invoice, register=register, user=user)
            context.update(invoice_printed=printed, print_what="invoice")
        return None


@admin.register(InvoicePrint)
class InvoicePrintAdmin(_ReadOnly):
    """The log of printed invoices (originals and duplicates)."""

    list_display = ["invoice", "kind", "number", "register", "printed_by", "printed_at"]
    list_filter = ["kind", "register"]
    list_select_related = ["invoice__store", "register", "printed_by"]
