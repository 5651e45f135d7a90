"""The till's payment panel: what an order still owes, the payments taken so far, and the
tenders (split tender): cash with the change, a card on the external terminal, a payment
link sent by SMS whose status the panel follows live.

``GET /pos/orders/<reference>/payment/`` is the panel: the full page, or (htmx) the
panel partial. ``POST`` takes named actions (``cash``, ``card``, ``link``, ``resend``,
``cancel``, ``change``) and re-renders the panel, with the error inline (422) when the
service refuses; without htmx it redirects back to the page.

**Live status, cheaply.** The panel's status part polls every second with
``?since=<fingerprint>`` (``pos.selectors.payment_fingerprint``: a digest of the order's
payment status, its payments and its links with their SMS status and expiry). While
nothing changed the answer is an empty **204** that costs the session, the user and one
indexed query (three queries, no write, no template); when something changed it is the
status part, re-rendered with its new fingerprint, or, once nothing is left to take, the
whole panel as the "Paid" receipt (``HX-Retarget: #payment-panel``). A payment confirmed
by a provider's webhook, an SMS sent by the worker, a link opened or paid on the
customer's phone are thus on the seller's screen within about a second, without a
reload. It is the same pattern as the live stock panel (pos/web/catalog.py).

For a client of the endpoint (a benchmark, another screen): log in as a seller and pick
a register (the session), then ``GET /pos/orders/<reference>/payment/`` with the header
``HX-Request: true``; the status part's ``hx-get`` carries ``?since=<fingerprint>``
(any other ``since`` value also renders, with the current one). Poll it: 204 means
unchanged; a 200 is the status part (``#payment-live``, ``data-payment-status`` = the
order's payment status, ``data-due``) with the next ``since`` in its ``hx-get``, or,
with ``HX-Retarget: #payment-panel``, the settled panel (``data-payment-status`` on
``#payment-panel``, a ``.paid-title``), which no longer polls.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget

from customers.phones import phone_display
from loyalty.selectors import customer_points_summary
from orders.models import Order
from orders.selectors import order_visible_to
from payments.exceptions import NothingDue
from payments.models import PaymentLink
from payments.selectors import order_outstanding_amount
from payments.services.cash import cash_change
from payments.services.links import payment_link_cancel, payment_link_resend
from pos.messages import seller_message
from pos.selectors import customer_balances, order_id_of, payment_fingerprint, payment_panel
from pos.services import (
    till_card_record,
    till_cash_take,
    till_ledger_take,
    till_link_send,
    till_points_take,
)
from pos.web.common import live, register_current, register_pick, seller_login_required
from pos.web.gift_card_sales import cards_issue
from unicommerce.access.pos import pos_limits_count
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import money_format, parse_amount
from unicommerce.ratelimit import RateLimited

# The field an error is about, by the error's code, for each action (aria-invalid).
ERROR_FIELDS = {
    "cash": {"*": "tendered"},
    "change": {"*": "tendered"},
    "card": {"card_number_refused": "terminal_reference", "*": "card_amount"},
    "link": {"invalid_phone": "phone", "invalid": "phone", "*": "link_amount"},
    "points": {"*": "points_amount"},
    "gift_card": {"gift_card_invalid": "gift_card_code", "*": "gift_card_amount"},
    "store_credit": {"*": "store_credit_amount"},
}


def _unchanged(request: HttpRequest, order_id: int) -> bool:
    """A live poll (htmx GET with ``since``) whose fingerprint still holds."""
    since = request.GET.get("since", "")
    if request.method != "GET" or not request.htmx or not since:
        return False
    return payment_fingerprint(order_id=order_id) == since


@seller_login_required
@require_http_methods(["GET", "POST"])
def payment(request: HttpRequest, reference: str) -> HttpResponse:
    order_id = order_id_of(reference)
    if order_id is None:
        raise Http404(_("No such order."))
    if _unchanged(request, order_id):
        return live(HttpResponse(status=204))
    register = register_current(request)
    if register is None:
        return register_pick(request)
    order = Order.objects.filter(pk=order_id).first()
    # The till takes payment for the orders of its seller's stores only (head office:
    # any); another store's order is "no such order", as for the staff API.
    if order is None or not order_visible_to(request.user, order):
        raise Http404(_("No such order."))

    if request.method == "GET":
        return _render(request, register, order_id, poll=bool(request.GET.get("since")))

    action = request.POST.get("action", "")
    handler = ACTIONS.get(action)
    if handler is None:
        return HttpResponse(_("Unknown action."), status=400)
    try:
        pos_limits_count(request)  # a payment link is an SMS: RateLimited, shown inline
        result = handler(request, register, order) or {}
    except DomainError as error:
        if isinstance(error, NothingDue):  # e.g. a second click: show where things are
            return _render(request, register, order_id)
        fields = ERROR_FIELDS.get(action, {})
        field = fields.get(error.code, fields.get("*", ""))
        if action == "change":
            return _change_response(request, error=seller_message(error))
        return _render(
            request,
            register,
            order_id,
            error=seller_message(error),
            error_field=field,
            posted=request.POST,
            status=429 if isinstance(error, RateLimited) else 422,
        )
    if isinstance(result, HttpResponse):
        return result
    if action not in ("change", "link", "resend", "cancel"):
        result.update(cards_issue(request, order, ""))  # the gift cards sold, once paid
    return _render(request, register, order_id, **result)


def _render(request, register, order_id: int, *, poll: bool = False, status: int = 200, **extra):
    """The page (no htmx), the panel, or for a live poll the status part (the whole
    panel, retargeted, once the order is settled)."""
    panel = payment_panel(order_id=order_id)
    if panel is None:
        raise Http404(_("No such order."))
    context = {
        "register": register,
        "panel": panel,
        "points": _points_of(panel),
        "credit": _credit_of(panel),
        **extra,
    }
    if not request.htmx:
        if request.method == "POST":
            if extra.get("error"):
                messages.error(request, extra["error"])
            elif extra.get("done"):
                messages.success(request, extra["done"])
            return redirect("pos:payment", reference=panel.order.reference)
        return render(request, "pos/payment.html", context)
    if poll:
        if panel.settled:
            response = render(request, "pos/payment.html#panel", context)
            return live(reswap(retarget(response, "#payment-panel"), "outerHTML"))
        return live(render(request, "pos/payment.html#live", context))
    return TemplateResponse(request, "pos/payment.html#panel", context, status=status)


def _points_of(panel) -> dict | None:
    """The customer's points, when the order has a customer and a programme is active:
    the points tender shows them (and hides itself without them)."""
    customer = panel.order.customer
    if customer is None:
        return None
    summary = customer_points_summary(customer, currency=panel.order.currency)
    return summary if summary["active"] else None


def _credit_of(panel) -> Decimal | None:
    """The customer's store credit (the store credit tender shows it), None without a
    customer."""
    customer = panel.order.customer
    if customer is None or panel.settled:
        return None
    return customer_balances(customer=customer, currency=panel.order.currency).store_credit


def _amount(request, name: str, currency: str, *, required: bool = False) -> Decimal | None:
    text = request.POST.get(name, "").strip()
    if not text and not required:
        return None
    try:
        return parse_amount(text, currency)
    except ValueError:
        raise InvalidInput(_("Type an amount, e.g. 50 or 20.50."), field=name) from None


def _money(amount: Decimal, currency: str) -> str:
    return money_format(amount, currency, get_language() or "en")


def _cash(request, register, order: Order):
    tendered = _amount(request, "tendered", order.currency, required=True)
    taken = till_cash_take(
        order=order,
        tendered=tendered,
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
    )
    done = _("Cash %(amount)s recorded.") % {"amount": _money(taken.payment.amount, order.currency)}
    return {"done": done, "change": taken.change_amount if taken.change_amount else None}


def _change_response(request, *, change=None, error: str = "", currency: str = "EUR"):
    context = {"change": change, "change_error": error, "currency": currency}
    return TemplateResponse(request, "pos/payment.html#pay_change", context)


def _change(request, register, order: Order):
    """The change to give for the cash typed so far (not recorded)."""
    tendered = _amount(request, "tendered", order.currency)
    if tendered is None:
        return _change_response(request, currency=order.currency)
    due = max(order_outstanding_amount(order), Decimal(0))
    change = cash_change(due=min(due, tendered), tendered=tendered, currency=order.currency)
    return _change_response(request, change=change, currency=order.currency)


def _card(request, register, order: Order):
    payment = till_card_record(
        order=order,
        amount=_amount(request, "card_amount", order.currency),
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
        terminal_reference=request.POST.get("terminal_reference", ""),
    )
    return {
        "done": _("Card payment of %(amount)s recorded.")
        % {"amount": _money(payment.amount, order.currency)}
    }


def _points(request, register, order: Order):
    payment = till_points_take(
        order=order,
        amount=_amount(request, "points_amount", order.currency),
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
    )
    return {
        "done": _("%(amount)s paid with loyalty points.")
        % {"amount": _money(payment.amount, order.currency)}
    }


def _gift_card(request, register, order: Order):
    payment = till_ledger_take(
        order=order,
        method="gift_card",
        amount=_amount(request, "gift_card_amount", order.currency),
        token=request.POST.get("gift_card_code", ""),
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
    )
    return {
        "done": _("%(amount)s paid with a gift card.")
        % {"amount": _money(payment.amount, order.currency)}
    }


def _store_credit(request, register, order: Order):
    payment = till_ledger_take(
        order=order,
        method="store_credit",
        amount=_amount(request, "store_credit_amount", order.currency),
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
    )
    return {
        "done": _("%(amount)s paid with store credit.")
        % {"amount": _money(payment.amount, order.currency)}
    }


def _link(request, register, order: Order):
    link = till_link_send(
        order=order,
        amount=_amount(request, "link_amount", order.currency),
        phone=request.POST.get("phone", ""),
        language=request.POST.get("language", "fr"),
        register=register,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
    )
    return {
        "done": _("Payment link for %(amount)s sent by SMS to %(phone)s.")
        % {"amount": _money(link.amount, order.currency), "phone": phone_display(link.phone)}
    }


def _order_link(request, order: Order) -> PaymentLink:
    link_id = whole_number(request.POST.get("link", ""), minimum=1)
    link = PaymentLink.objects.filter(pk=link_id, order=order).first()
    if link is None:
        raise InvalidInput(_("Choose one of the order's payment links."), field="link")
    return link


def _resend(request, register, order: Order):
    link, _token = payment_link_resend(link=_order_link(request, order), user=request.user)
    return {
        "done": _("Payment link sent again to %(phone)s.") % {"phone": phone_display(link.phone)}
    }


def _cancel(request, register, order: Order):
    payment_link_cancel(link=_order_link(request, order), user=request.user)
    return {"done": _("Payment link cancelled.")}


ACTIONS = {
    "cash": _cash,
    "change": _change,
    "card": _card,
    "points": _points,
    "gift_card": _gift_card,
    "store_credit": _store_credit,
    "link": _link,
    "resend": _resend,
    "cancel": _cancel,
}
