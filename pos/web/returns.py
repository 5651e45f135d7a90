"""The till's returns screen: find the order (by reference, or from the customer panel),
choose the lines, quantities and reasons, where the goods go (back on sale here, or
quarantine) and the outcome, confirm. Any channel's order can come back at any store:
``orders.services.returns.return_create`` checks and records it (a web order returned
here is flagged cross-channel); this view parses, calls it and renders.

The receipt then settles it right there (``POST action=settle``, the return's id, the
``method`` and the form's idempotency ``key``): a refund in cash at the till or to the
original payments, store credit to the order's customer, or an exchange
(``pos.services.till_return_settle``). A double click settles once; a refusal is shown
inline on the receipt (422) and changes nothing."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from orders.models import Order, OrderEvent, Return, ReturnLine
from orders.selectors import order_visible_to, returns_visible_to
from payments.selectors import original_payments_capacity, return_original_payments_cover
from pos.forms import REASONS, ReturnOptionsForm
from pos.returns import till_return_record
from pos.selectors import (
    order_by_reference,
    order_returnable_lines,
    quarantine_location,
    return_receipt,
)
from pos.services import CASH, till_return_settle
from pos.web.common import register_current, register_pick, seller_login_required
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import money_format

SESSION_LAST_RETURN = "pos_last_return"
PENDING_SHOWN = 20


@seller_login_required
@require_http_methods(["GET", "POST"])
def returns(request: HttpRequest) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    if request.method == "POST" and request.POST.get("action") == "settle":
        return _settle(request, register)
    context = {
        "register": register,
        "reasons": REASONS,
        "quarantine": quarantine_location(),
        "reference": request.GET.get("order", request.POST.get("order", "")).strip(),
    }
    if request.method == "GET" and ("done" in request.GET or "return" in request.GET):
        return _receipt_again(request, register, context)
    status = 200
    order = None
    if context["reference"]:
        order = order_by_reference(context["reference"])
        if order is None:
            context["error"] = _("No order has the reference “%(reference)s”.") % {
                "reference": context["reference"]
            }
            status = 404 if request.method == "GET" else 422
    if order is not None:
        context["order"] = order
        # Any store takes back any order (its reference is on the customer's receipt);
        # who the customer is shows only to the staff of the order's stores.
        context["show_customer"] = order_visible_to(request.user, order)
        context["rows"] = order_returnable_lines(order=order)
        context["options"] = ReturnOptionsForm(request.POST or None)
        if request.method == "POST":
            recorded = _record(request, register, order, context)
            if recorded is not None:
                return recorded
            status = 422
    elif request.method == "POST" and not context.get("error"):
        context["error"] = _("Type the order's reference.")
        status = 422
    elif not context["reference"]:
        context["pending"] = list(
            _pending_here(request, register)
            .select_related("order")
            .order_by("-created_at", "-id")[:PENDING_SHOWN]
        )
    if request.method == "POST" and not request.htmx:
        return _render(request, context, status=status)
    return _render(request, context, status=status, partial="order" if request.htmx else None)


def _receipt_again(request, register, context) -> HttpResponse:
    """``?done``: the receipt of the return just recorded; ``?return=<id>``: a return
    recorded here and not settled yet, opened again from the list."""
    if "done" in request.GET:
        ret = return_receipt(return_id=request.session.get(SESSION_LAST_RETURN) or 0)
    else:
        return_id = whole_number(request.GET.get("return", ""), minimum=1)
        ret = _pending_here(request, register).filter(pk=return_id).first() if return_id else None
        if ret is None:
            raise Http404(_("No such return."))
        ret = return_receipt(return_id=ret.pk)
    context.update(_done(ret))
    return _render(request, context, partial="done" if request.htmx else None)


def _record(request, register, order: Order, context) -> HttpResponse | None:
    """Record the return typed, then show its receipt; ``None`` when it is refused, with
    the refusal (and the lines as they are now) in ``context``."""
    try:
        done = _confirm(request, register, order, context)
    except DomainError as error:
        context["error"] = error.message
        context["details"] = error.details
        context["rows"] = order_returnable_lines(order=order)
        return None
    request.session[SESSION_LAST_RETURN] = done.pk
    if not request.htmx:
        return redirect(f"{request.path}?done=1")
    context.update(_done(return_receipt(return_id=done.pk)))
    return _render(request, context, partial="done")


def _pending_here(request, register) -> QuerySet[Return]:
    """The returns received at this register's store (and the seller may see) that are
    still to be settled."""
    return returns_visible_to(
        request.user,
        Return.objects.filter(
            location_id=register.location_id, settlement=Return.Settlement.PENDING
        ),
    )


def _done(ret: Return | None) -> dict:
    """The receipt of ``ret``, and how a refund can go: to the order's own payments
    (the default when they can take it all back) or in cash."""
    context: dict = {"done": ret}
    pending = ret is not None and ret.settlement == Return.Settlement.PENDING
    if pending and ret.outcome == Return.Outcome.REFUND:
        context["original"] = original_payments_capacity(ret.order)
        context["original_covers"] = return_original_payments_cover(ret)
    return context


def _render(request, context, *, status: int = 200, partial: str | None = None):
    template = "pos/returns.html" + (f"#{partial}" if partial else "")
    return TemplateResponse(request, template, context, status=status)


def _confirm(request, register, order: Order, context) -> Return:
    """The form's lines (``quantity-<line id>``, ``reason-<line id>``) → return_create.
    What was typed is kept in the context first, so a refusal shows it again."""
    rows = context["rows"]
    typed = {r.line.pk: request.POST.get(f"quantity-{r.line.pk}", "").strip() for r in rows}
    chosen = {r.line.pk: request.POST.get(f"reason-{r.line.pk}", "") for r in rows}
    context["typed"], context["chosen_reasons"] = typed, chosen
    options = context["options"]
    if not options.is_valid():
        raise InvalidInput(_("Choose where the goods go and the outcome."))
    restock = register.location
    if options.cleaned_data["restock"] == "quarantine":
        restock = context["quarantine"]
        if restock is None:
            raise InvalidInput(_("There is no quarantine location: put the goods back here."))
    lines = []
    for row in rows:
        raw, reason = typed[row.line.pk], chosen[row.line.pk]
        if raw in ("", "0"):
            continue
        quantity = whole_number(raw)
        if quantity is None:
            raise InvalidInput(
                _("Quantity must be a whole number (line %(sku)s).") % {"sku": row.line.sku}
            )
        if reason not in ReturnLine.Reason.values:
            raise InvalidInput(_("Choose the reason for %(sku)s.") % {"sku": row.line.sku})
        lines.append(
            {
                "order_line": row.line.pk,
                "quantity": quantity,
                "reason": reason,
                "restock_location": restock,
            }
        )
    if not lines:
        raise InvalidInput(_("Type how many of each item come back."))
    ret, _credit_note = till_return_record(
        order=order,
        register=register,
        lines=lines,
        outcome=options.cleaned_data["outcome"],
        user=request.user,
        note=options.cleaned_data["note"],
    )
    return ret


def _settle(request, register) -> HttpResponse:
    """Settle the receipt's return (``till_return_settle``) and show the receipt again,
    with what was settled or the refusal inline."""
    return_id = whole_number(request.POST.get("return", ""), minimum=1)
    ret = return_receipt(return_id=return_id) if return_id is not None else None
    # Money leaves this store's drawer or account: only for returns received here.
    if ret is None or ret.location_id != register.location_id:
        raise Http404(_("No such return."))
    method = request.POST.get("method", "").strip() or None
    context = {"register": register, **_done(ret)}
    status = 200
    try:
        settled = till_return_settle(
            ret=ret,
            register=register,
            seller=request.user,
            method=method,
            idempotency_key=request.POST.get("key", ""),
        )
    except DomainError as error:
        context["settle_error"] = error.message
        status = 422
    else:
        context["settled"] = _settled_message(settled, method)
        context.update(_done(return_receipt(return_id=ret.pk)))
    if not request.htmx:
        request.session[SESSION_LAST_RETURN] = ret.pk
        if status == 200:
            messages.success(request, context["settled"])
        else:
            messages.error(request, context["settle_error"])
        return redirect(f"{request.path}?done=1")
    return _render(request, context, status=status, partial="done")


def _settled_message(ret: Return, method: str | None) -> str:
    amount = money_format(ret.amount, ret.currency, get_language() or "en")
    if ret.outcome == Return.Outcome.EXCHANGE:
        return _("Settled as an exchange: no money moved.")
    if ret.outcome == Return.Outcome.STORE_CREDIT:
        return _("Settled: %(amount)s credited to the customer’s store credit.") % {
            "amount": amount
        }
    if method == CASH:
        return _("Settled: %(amount)s refunded in cash.") % {"amount": amount}
    event = (
        OrderEvent.objects.filter(order_id=ret.order_id, kind="return_settled", data__return=ret.pk)
        .order_by("-id")
        .first()
    )
    taken_off = Decimal(event.data.get("taken_off") or 0) if event is not None else Decimal(0)
    if taken_off >= ret.amount:
        return _(
            "Settled: %(amount)s taken off the instalments still to pay; nothing to refund."
        ) % {"amount": amount}
    if taken_off > 0:
        return _(
            "Settled: %(taken_off)s taken off the instalments still to pay, "
            "%(refunded)s refunded to the original payment."
        ) % {
            "taken_off": money_format(taken_off, ret.currency, get_language() or "en"),
            "refunded": money_format(ret.amount - taken_off, ret.currency, get_language() or "en"),
        }
    return _("Settled: %(amount)s refunded to the original payment.") % {"amount": amount}
