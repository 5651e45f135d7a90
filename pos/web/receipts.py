"""A sale's receipt at the till (``pos.receipts``): shown on screen, printed on request
(original, then "DUPLICATA n°k", each print logged), or sent by e-mail or SMS. The
orders of the seller's stores only (another store's is "no such order")."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orders.models import Order
from orders.selectors import order_visible_to
from pos.messages import seller_message
from pos.receipts import receipt_of, receipt_print, receipt_send
from pos.selectors import order_id_of
from pos.web.common import register_current, register_pick, seller_login_required
from unicommerce.exceptions import DomainError
from unicommerce.ratelimit import RateLimited


@seller_login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    order_id = order_id_of(reference)
    order = Order.objects.filter(pk=order_id).first() if order_id else None
    if order is None or not order_visible_to(request.user, order):
        raise Http404(_("No such order."))
    context: dict = {"register": register}
    status = 200
    if request.method == "POST":
        status = _act(request, register, order, context)
    context["receipt"] = receipt_of(order)
    return TemplateResponse(request, "pos/receipt.html", context, status=status)


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
        else:
            context["error"] = _("Unknown action.")
            return 400
    except DomainError as error:
        context["error"] = seller_message(error)
        context["to"] = request.POST.get("to", "")
        return 429 if isinstance(error, RateLimited) else 422
    return 200
