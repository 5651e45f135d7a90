"""The till's returns screen: find the order (by reference, or from the customer panel),
choose the lines, quantities and reasons, where the goods go (back on sale here, or
quarantine) and the outcome, confirm. Any channel's order can come back at any store:
``orders.services.returns.return_create`` checks and records it (a web order returned
here is flagged cross-channel); this view parses, calls it and renders."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from orders.models import Order, Return, ReturnLine
from orders.services.returns import return_create
from pos.forms import REASONS, ReturnOptionsForm
from pos.selectors import (
    order_by_reference,
    order_returnable_lines,
    quarantine_location,
    return_receipt,
)
from pos.views import _register, seller_login_required
from unicommerce.exceptions import DomainError, InvalidInput

SESSION_LAST_RETURN = "pos_last_return"


@seller_login_required
@require_http_methods(["GET", "POST"])
def returns(request: HttpRequest) -> HttpResponse:
    register = _register(request)
    if register is None:
        return HttpResponseClientRefresh() if request.htmx else redirect("pos:home")
    context = {
        "register": register,
        "reasons": REASONS,
        "quarantine": quarantine_location(),
        "reference": request.GET.get("order", request.POST.get("order", "")).strip(),
    }
    if request.method == "GET" and "done" in request.GET:
        context["done"] = return_receipt(return_id=request.session.get(SESSION_LAST_RETURN) or 0)
        return _render(request, context, partial="done" if request.htmx else None)
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
        context["rows"] = order_returnable_lines(order=order)
        context["options"] = ReturnOptionsForm(request.POST or None)
        if request.method == "POST":
            try:
                done = _confirm(request, register, order, context)
            except DomainError as error:
                context["error"] = error.message
                context["details"] = error.details
                context["rows"] = order_returnable_lines(order=order)
                status = 422
            else:
                request.session[SESSION_LAST_RETURN] = done.pk
                if not request.htmx:
                    return redirect(f"{request.path}?done=1")
                context["done"] = return_receipt(return_id=done.pk)
                return _render(request, context, partial="done")
    elif request.method == "POST" and not context.get("error"):
        context["error"] = _("Type the order's reference.")
        status = 422
    if request.method == "POST" and not request.htmx:
        return _render(request, context, status=status)
    return _render(request, context, status=status, partial="order" if request.htmx else None)


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
        if not raw.isdigit():
            raise InvalidInput(
                _("Quantity must be a whole number (line %(sku)s).") % {"sku": row.line.sku}
            )
        if reason not in ReturnLine.Reason.values:
            raise InvalidInput(_("Choose the reason for %(sku)s.") % {"sku": row.line.sku})
        lines.append(
            {
                "order_line": row.line.pk,
                "quantity": int(raw),
                "reason": reason,
                "restock_location": restock,
            }
        )
    if not lines:
        raise InvalidInput(_("Type how many of each item come back."))
    return return_create(
        order=order,
        channel=register.channel,
        lines=lines,
        receiving_location=register.location,
        outcome=options.cleaned_data["outcome"],
        user=request.user,
        note=options.cleaned_data["note"],
    )
