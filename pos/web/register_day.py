"""The register's day at the till (``pos.sessions``): open it with the cash counted in
the drawer, move cash in or out (float, bank drop, expense, correction) with a reason,
start closing, count each tender and close; a manager types their password on the till
when a move or a difference is above its limit. The Z report of the session just closed
is shown. Every refusal is said inline and changes nothing."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from inventory.services.approval import manager_approval
from pos.exceptions import RegisterNotOpen
from pos.messages import seller_message
from pos.models import CashMove, RegisterSession, ZReport
from pos.session_figures import session_expected
from pos.sessions import (
    APPROVE_PERMISSION,
    cash_move_add,
    session_close,
    session_close_start,
    session_current,
    session_open,
)
from pos.web.common import register_current, register_pick, seller_login_required
from unicommerce.exceptions import DomainError
from unicommerce.ratelimit import RateLimited


def _approver(request, register):
    """The manager who approves, when their username was typed (else None)."""
    username = request.POST.get("manager", "").strip()
    if not username:
        return None
    return manager_approval(
        username=username,
        password=request.POST.get("password", ""),
        permission=APPROVE_PERMISSION,
        location=register.location,
        request=request,
    )


def _open(request, register, session):
    session_open(register=register, user=request.user, counted=request.POST.get("counted", ""))
    return _("The register is open.")


def _move(request, register, session):
    cash_move_add(
        session=session,
        kind=request.POST.get("kind", ""),
        amount=request.POST.get("amount", ""),
        reason=request.POST.get("reason", ""),
        client_id=request.POST.get("client_id", ""),
        user=request.user,
        approver=_approver(request, register),
    )
    return _("Cash move recorded.")


def _close_start(request, register, session):
    session_close_start(session=session, user=request.user)
    return _("Count each tender, then close.")


def _close(request, register, session):
    counts = {
        tender: request.POST.get(f"count_{tender}", "")
        for tender in ("cash", "card_terminal")
        if request.POST.get(f"count_{tender}", "").strip() or tender == "cash"
    }
    session_close(
        session=session,
        counts=counts,
        user=request.user,
        approver=_approver(request, register),
        comment=request.POST.get("comment", ""),
    )
    return _("The register is closed.")


ACTIONS = {"open": _open, "move": _move, "close_start": _close_start, "close": _close}


@seller_login_required
def register_day(request: HttpRequest) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    context: dict = {"register": register}
    status = 200
    if request.method == "POST":
        status = _act(request, register, context)
    session = session_current(register)
    context.update(
        session=session,
        client_id=secrets.token_hex(12),
        kinds=CashMove.Kind.choices,
    )
    if session is not None and session.status in (
        RegisterSession.Status.OPEN,
        RegisterSession.Status.CLOSING_CONTROL,
    ):
        context["expected"] = session_expected(session)
        context["moves"] = list(CashMove.objects.filter(session=session).order_by("id"))
    else:
        context["z_report"] = (
            ZReport.objects.filter(session__register=register).order_by("-id").first()
        )
    return TemplateResponse(request, "pos/register_day.html", context, status=status)


def _act(request: HttpRequest, register, context: dict) -> int:
    handler = ACTIONS.get(request.POST.get("action", ""))
    if handler is None:
        context["error"] = _("Unknown action.")
        return 400
    try:
        session = session_current(register)
        if session is None and handler is not _open:
            raise RegisterNotOpen(register=register.code)
        context["done"] = handler(request, register, session)
    except DomainError as error:
        context["error"] = seller_message(error)
        context["posted"] = request.POST
        return 429 if isinstance(error, RateLimited) else 422
    return 200
