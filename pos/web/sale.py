"""The HTMX selling screen (``pos:sell``). One view per screen; named actions parse, call a
service, and re-render the partial they changed. Every action also works without
JavaScript (full-page POST, then redirect).

The screen's areas each have their module: the catalog side and its live polls
(``pos.web.catalog``), the cart's lines (``pos.web.lines``), the customer panel
(``pos.web.customers``) and the pay area (``pos.web.checkout``); the workspace partial
they all re-render is ``pos.web.workspace``. This module dispatches: a GET partial, the
page, or a POST action from ``ACTIONS``, whose refusal (a ``DomainError``) is shown
inline."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from orders.exceptions import CheckoutUnavailable
from pos.messages import seller_message
from pos.services import (
    SalePaymentNotRecorded,
    SaleResult,
)
from pos.tenders import TENDERS
from pos.web import checkout, customers, discounts, gift_card_sales, lines, parking
from pos.web.catalog import (
    browse_grid,
    line_stock_refresh,
    product_tile,
    search_results,
    stock_panel,
    stock_unchanged,
)
from pos.web.checkout import sale_done
from pos.web.common import (
    cart_current,
    live,
    register_current,
    register_pick,
    seller_login_required,
)
from pos.web.workspace import workspace_context, workspace_respond
from unicommerce.exceptions import DomainError
from unicommerce.ratelimit import RateLimited


@seller_login_required
@require_http_methods(["GET", "POST"])
def sell(request: HttpRequest) -> HttpResponse:
    if stock_unchanged(request):
        return live(HttpResponse(status=204))
    register = register_current(request)
    if register is None:
        return register_pick(request)

    if request.method == "GET" and request.htmx:
        if "code" in request.GET:
            return search_results(request, register, request.GET["code"])
        if "stock" in request.GET:
            context = {"register": register, **stock_panel(request.GET["stock"], register)}
            return live(render(request, "pos/_catalog.html#stock", context))
        if "product" in request.GET:
            return product_tile(request, register, request.GET["product"])
        if "browse" in request.GET:
            return render(request, "pos/_catalog.html#grid", browse_grid(request, register))
        if "lines" in request.GET:
            return live(line_stock_refresh(request, register))
    cart = cart_current(request, register)

    if request.method == "GET":
        context = workspace_context(request, register, cart)
        context.update(browse_grid(request, register))
        if "stock" in request.GET:
            context.update(stock_panel(request.GET["stock"], register))
        return render(request, "pos/sell.html", context)

    action = request.POST.get("action", "")
    handler = ACTIONS.get(action)
    if handler is None:
        return HttpResponse(_("Unknown action."), status=400)
    try:
        result = handler(request, register, cart)
    except SalePaymentNotRecorded as error:
        # The order is placed: its receipt and payment panel, where the seller finishes.
        sale_done(request, SaleResult(error.order, None, None), TENDER_OF_ACTION[action])
        return workspace_respond(request, register, cart, error=seller_message(error), status=422)
    except DomainError as error:
        short_lines = _error_lines(error)
        message = _("These lines are not available in the quantity asked for:")
        return workspace_respond(
            request,
            register,
            cart,
            error=message if short_lines else seller_message(error),
            error_lines=short_lines,
            status=429 if isinstance(error, RateLimited) else 422,
            **_tender_kept(request, action, error),
        )
    if isinstance(result, HttpResponse):
        return result
    return workspace_respond(request, register, cart, **(result or {}))


def _tender_kept(request, action: str, error: DomainError) -> dict:
    """A tender refused: the pay area shows it again, with what was typed and the field
    the error is about."""
    if action not in TENDER_OF_ACTION:
        return {}
    field = error.details.get("field") or ""
    if not field and error.code in ("insufficient_tender", "tender_missing"):
        field = "tendered"
    if not field and error.code == "invalid_phone":
        field = "phone"
    return {
        "tender": TENDER_OF_ACTION[action],
        "tender_field": field,
        "posted": request.POST,
    }


def _error_lines(error: DomainError) -> list[str]:
    """Checkout's refusal of several short lines, one sentence per line (as checkout
    words each), for a list the seller can read at a glance."""
    if not isinstance(error, CheckoutUnavailable) or len(error.lines) < 2:
        return []
    return [CheckoutUnavailable([line]).message for line in error.lines]


ACTIONS = {
    "scan": lines.scan,
    "add": lines.add,
    "quantity": lines.quantity,
    "change": checkout.change,
    "complete": checkout.complete,
    "pay_card": checkout.pay_card,
    "pay_split": checkout.pay_split,
    "pay_link": checkout.pay_link,
    "new": checkout.new_sale,
    "find": customers.find,
    "open": customers.open_cart,
    "identify": customers.identify,
    "release": customers.release,
    "fulfilment": lines.line_fulfilment,
    "address": lines.address_keep,
    "edit_address": lines.address_edit,
    "unbooked": lines.unbooked,
    # Issue 14: codes, manual discounts, the gift card / points / store credit tender.
    "voucher_remove": discounts.voucher_remove,
    "gift_card_forget": discounts.gift_card_forget,
    "discount": discounts.discount,
    "discount_remove": discounts.discount_remove,
    "pay_tenders": checkout.pay_tenders,
    "card_code": gift_card_sales.card_code,
    "card_codes_clear": gift_card_sales.card_codes_clear,
    # Issue 15: the till's day.
    "park": parking.park,
    "recall": parking.recall,
    "void": parking.void,
}

# Each tender of the pay area is taken by one action (pos/tenders.py).
TENDER_OF_ACTION = {tender.action: tender.code for tender in TENDERS}
