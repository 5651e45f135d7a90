"""A sale's receipt at the till (``pos.receipts``): shown on screen, printed on request
(original, then "DUPLICATA n°k", each print logged), downloaded as a PDF (a print too),
or sent by e-mail or SMS. From it the seller issues the sale's invoice
(``pos.web.invoices``) or cancels the paid sale with a manager's approval: a credit note
(``pos.cancellation``). The orders of the seller's stores only (another store's is "no
such order", and nothing is logged)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from inventory.services.approval import manager_approval
from orders.models import Order
from orders.selectors import order_visible_to
from pos.cancellation import sale_cancel, sale_cancelled
from pos.documents import pdf_response, receipt_pdf_printed
from pos.invoices import invoice_of
from pos.messages import seller_message
from pos.receipts import ReceiptOfAnotherStore, receipt_of, receipt_print, receipt_send
from pos.selectors import order_id_of
from pos.sessions import APPROVE_PERMISSION
from pos.web.common import register_current, register_pick, seller_login_required
from unicommerce.exceptions import DomainError, NotFound
from unicommerce.ratelimit import RateLimited


def order_here(request: HttpRequest, reference: str) -> Order:
    """The order ``reference`` if the seller may see it (their stores'), else 404."""
    order_id = order_id_of(reference)
    order = Order.objects.filter(pk=order_id).first() if order_id else None
    if order is None or not order_visible_to(request.user, order):
        raise Http404(_("No such order."))
    return order


@seller_login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    order = order_here(request, reference)
    context: dict = {"register": register}
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "pdf":
            try:
                return _pdf(request, register, order)
            except DomainError as error:  # another store's ticket: said on the page
                context["error"], status = seller_message(error), error.http_status
        else:
            status = _act(request, register, order, context)
    context["receipt"] = receipt_of(order)
    context["invoice"] = invoice_of(order)
    context["cancelled"] = sale_cancelled(order)
    return TemplateResponse(request, "pos/receipt.html", context, status=status)


def _pdf(request: HttpRequest, register, order: Order) -> HttpResponse:
    content, filename = receipt_pdf_printed(
        order=order, register=register, user=request.user, language=get_language() or "fr"
    )
    return pdf_response(content, filename)


def _cancel(request: HttpRequest, register, order: Order) -> str:
    username = request.POST.get("manager", "").strip()
    approver = None
    if username:
        approver = manager_approval(
            username=username,
            password=request.POST.get("password", ""),
            permission=APPROVE_PERMISSION,
            location=register.location,
            request=request,
        )
    sale_cancel(
        order=order,
        register=register,
        seller=request.user,
        approver=approver,
        reason=request.POST.get("reason", ""),
        idempotency_key=request.POST.get("key", ""),
    )
    return _("The sale is cancelled: its credit note is written and the money refunded.")


def _act(request: HttpRequest, register, order: Order, context: dict) -> int:
    action = request.POST.get("action", "")
    try:
        if action == "print":
            context["printed"] = receipt_print(order=order, register=register, user=request.user)
        elif action == "send":
            sent = receipt_send(
                order=order,
                to=request.POST.get("to", ""),
                register=register,
                language=get_language() or "fr",
            )
            context["sent"] = (
                _("Receipt sent by e-mail.") if sent == "email" else _("Receipt sent by SMS.")
            )
        elif action == "cancel":
            context["sent"] = _cancel(request, register, order)
        else:
            context["error"] = _("Unknown action.")
            return 400
    except DomainError as error:
        context["error"] = seller_message(error)
        context["to"] = request.POST.get("to", "")
        context["cancel_error"] = action == "cancel"
        context["posted"] = request.POST if action == "cancel" else {}
        if isinstance(error, NotFound):
            raise Http404(error.message) from None
        return error.http_status if isinstance(error, RateLimited | ReceiptOfAnotherStore) else 422
    return 200
