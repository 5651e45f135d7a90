"""The register's day at the till (``pos.sessions``): open it with the cash counted in
the drawer (one amount, or note by note and coin by coin in the denomination grid),
move cash in or out (float, bank drop, expense, correction) with a reason, start
closing, count each tender and close; a manager types their password on the till when a
move or a difference is above its limit (the register's tolerance is shown). The
opening's difference to the previous counted closing is shown on its own. A register
that closes by blind count (``pos.sessions.blind_count``) never shows the expected
figures before its counts are in. The Z report of the session just closed is shown.
Every refusal is said inline and changes nothing."""

from __future__ import annotations

import secrets
from decimal import Decimal

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
    DENOMINATIONS,
    blind_count,
    cash_move_add,
    closing_tolerance,
    previous_closing_cash,
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


def _denominations_posted(post, currency: str) -> dict[str, str] | None:
    """The grid's counts typed (``denom_50.00`` = "2"), None when none was."""
    typed = {
        value: post.get(f"denom_{value}", "").strip() for value in DENOMINATIONS.get(currency, ())
    }
    return {value: count for value, count in typed.items() if count} or None


def _open(request, register, session):
    denominations = _denominations_posted(request.POST, register.channel.currency)
    counted = request.POST.get("counted", "")
    if denominations is not None and not counted.strip():
        counted = None  # the grid alone: its total is the count
    session_open(register=register, user=request.user, counted=counted, denominations=denominations)
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
        blind=blind_count(register),
    )
    return _("The register is closed.")


COINS_BELOW = Decimal(5)  # euro coins go up to 2, notes start at 5
ACTIONS = {"open": _open, "move": _move, "close_start": _close_start, "close": _close}


def _denomination_groups(currency: str, posted, error_field: str) -> list[dict]:
    """The grid: the notes, then the coins, each value with the count typed back."""
    groups = [{"coins": False, "rows": []}, {"coins": True, "rows": []}]
    for value in DENOMINATIONS.get(currency, ()):
        amount = Decimal(value)
        groups[amount < COINS_BELOW]["rows"].append(
            {
                "value": value,
                "amount": amount,
                "typed": posted.get(f"denom_{value}", "") if posted else "",
                "invalid": error_field == f"denominations.{value}",
            }
        )
    return [group for group in groups if group["rows"]]


def _day_context(register, session, context: dict) -> None:
    """What the screen shows for the session's state."""
    currency = session.currency if session is not None else register.channel.currency
    context.update(
        blind=blind_count(register),
        tolerance=closing_tolerance(register),
        currency=currency,
    )
    if session is not None and session.status in (
        RegisterSession.Status.OPEN,
        RegisterSession.Status.CLOSING_CONTROL,
    ):
        if not context["blind"]:
            context["expected"] = session_expected(session)
        context["moves"] = list(CashMove.objects.filter(session=session).order_by("id"))
        return
    context["z_report"] = ZReport.objects.filter(session__register=register).order_by("-id").first()
    context["previous_closing"] = previous_closing_cash(register)
    context["denominations"] = _denomination_groups(
        currency, context.get("posted"), context.get("error_field", "")
    )


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
    context.update(session=session, client_id=secrets.token_hex(12), kinds=CashMove.Kind.choices)
    _day_context(register, session, context)
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
        context["error_field"] = str(error.details.get("field", ""))
        context["posted"] = request.POST
        return 429 if isinstance(error, RateLimited) else 422
    return 200
