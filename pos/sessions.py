"""A register's sessions and cash (issue 15): open with a counted float, move cash in and
out, count per tender at the close, and the Z report.

One transition function per step, ``opening_control -> open -> closing_control ->
closed`` and never back (``TRANSITIONS``): each locks what it changes (``pos.locks``),
checks the table, then writes. Cash moves are append-only (a database trigger refuses
UPDATE and DELETE): a mistake is reversed by a new move. Moves above
``POS_CASH_MOVE_APPROVAL_ABOVE`` and closing differences above the register's tolerance
(``POS_CLOSING_TOLERANCE``, per register ``POS_CLOSING_TOLERANCE_PER_REGISTER``) need a
manager holding ``pos.approve_cash``, authenticated by the caller (e.g.
``inventory.services.approval.manager_approval``).

What each session should hold is ``pos.session_figures``: the payments and refunds the
till linked to it (``pos.session_tenders``) and its register's tickets. A session does
not go to closing while sales are parked at its register (``SessionHasParkedSales``;
unsynced offline sales will count the same way when offline selling arrives). Selling,
taking or giving back money and moving cash outside an open session are refused
(``session_selling_check``: ``RegisterNotOpen``), and a session open longer than
``POS_SESSION_MAX_HOURS`` stops selling until it is closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import Payment
from pos.exceptions import (
    ApprovalRequired,
    ApproverNotAllowed,
    CashMoveAlreadyReversed,
    CashMoveClientIdReused,
    CashMoveInvalid,
    CashMoveReasonMissing,
    CountInvalid,
    RegisterInactive,
    RegisterNotOpen,
    RegisterSessionTooOld,
    SessionAlreadyOpen,
    SessionHasParkedSales,
    SessionNotOpen,
    SessionTransitionInvalid,
)
from pos.fiscal.events import E, jet_record, z_report_record
from pos.locks import cash_move_lock, register_lock, session_lock
from pos.models import CashMove, ParkedSale, Register, RegisterSession, SessionCount, ZReport
from pos.session_figures import session_differences, session_expected, z_report_figures
from unicommerce.exceptions import InvalidInput
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS, money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

S = RegisterSession.Status
CASH = Payment.Method.CASH
APPROVE_PERMISSION = "pos.approve_cash"
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPENING_CONTROL: frozenset({S.OPEN}),
    S.OPEN: frozenset({S.CLOSING_CONTROL}),
    S.CLOSING_CONTROL: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}
# Kinds that only take cash out of the drawer (typed negative).
OUT_KINDS = frozenset({CashMove.Kind.BANK_DROP, CashMove.Kind.EXPENSE})
AMOUNT_CEILING = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
MAX_PIECES = 100_000  # of one value in a drawer: more is a typing slip
# The notes and coins a drawer is counted in, largest first, per currency (the till's
# opening count by denomination; another currency is counted as one amount).
DENOMINATIONS: dict[str, tuple[str, ...]] = {
    "EUR": (
        *("500.00", "200.00", "100.00", "50.00", "20.00", "10.00", "5.00"),  # notes
        *("2.00", "1.00", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),  # coins
    ),
}


def _transition(session: RegisterSession, target: str) -> None:
    if target not in TRANSITIONS[session.status]:
        raise SessionTransitionInvalid(
            session=session.pk, from_status=session.status, to_status=target
        )
    session.status = target


# --- Reading amounts typed at the till -----------------------------------------------


def _decimal(value: Any, *, field: str, currency: str) -> Decimal:
    """A typed amount as a Decimal of the currency's minor unit; letters, floats, more
    decimals than the currency has: ``count_invalid``."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise CountInvalid(_("Type an amount, e.g. 150 or 150.50."), field=field)
    try:
        amount = Decimal(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except InvalidOperation:
        raise CountInvalid(_("Type an amount, e.g. 150 or 150.50."), field=field) from None
    if (
        not amount.is_finite()
        or money_round(amount, currency) != amount
        or abs(amount) >= AMOUNT_CEILING  # more than an amount column holds
    ):
        raise CountInvalid(_("Type an amount, e.g. 150 or 150.50."), field=field)
    return money_round(amount, currency)


def count_amount(value: Any, *, field: str, currency: str) -> Decimal:
    """A counted amount: a non-negative amount of the currency."""
    amount = _decimal(value, field=field, currency=currency)
    if amount < 0:
        raise CountInvalid(_("A count cannot be negative."), field=field)
    return amount


def _denomination_count(count: Any, *, field: str) -> int:
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count.strip())
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PIECES:
        raise CountInvalid(
            _("Type how many notes or coins of each value, e.g. 3 (never negative)."),
            field=field,
        )
    return count


def denominations_total(
    denominations: dict[str, Any], *, currency: str
) -> tuple[dict[str, int], Decimal]:
    """``{"50.00": 2, "0.20": 5}`` checked (a positive value, a whole non-negative
    number of each) and normalised, with its total."""
    if not isinstance(denominations, dict):
        raise CountInvalid(_("Count each value of note and coin."), field="denominations")
    normalised: dict[str, int] = {}
    total = Decimal(0)
    for value, count in denominations.items():
        field = f"denominations.{value}"
        face = _decimal(value, field=field, currency=currency)
        if face <= 0:
            raise CountInvalid(_("A note or coin has a positive value."), field=field)
        number = _denomination_count(count, field=field)
        normalised[str(face)] = normalised.get(str(face), 0) + number
        total += face * number
    return normalised, money_round(total, currency)


def _opening_count(
    counted: Any, denominations: dict[str, Any] | None, *, currency: str
) -> tuple[Decimal, dict[str, int] | None]:
    if denominations is None:
        return count_amount(counted, field="counted", currency=currency), None
    normalised, total = denominations_total(denominations, currency=currency)
    if counted is not None and count_amount(counted, field="counted", currency=currency) != total:
        raise CountInvalid(
            _("The notes and coins add up to %(total)s, not the amount typed.") % {"total": total},
            field="counted",
        )
    return total, normalised


def _approval(*, amount: Decimal, limit: Decimal, approver, reason: str):
    """The approver a ``amount`` above ``limit`` needs (None at or below it)."""
    if abs(amount) <= limit:
        return None
    if approver is None:
        raise ApprovalRequired(reason=reason, limit=limit, amount=amount)
    if not approver.is_active or not approver.has_perm(APPROVE_PERMISSION):
        raise ApproverNotAllowed()
    return approver


# --- Opening ------------------------------------------------------------------------


def session_current(register: Register) -> RegisterSession | None:
    """The register's session that is not closed (at most one), if any."""
    return RegisterSession.objects.filter(register=register).exclude(status=S.CLOSED).first()


def _previous_closing_cash(register: Register) -> Decimal | None:
    count = (
        SessionCount.objects.filter(
            session__register=register, session__status=S.CLOSED, tender=CASH
        )
        .order_by("-session__closed_at", "-session_id")
        .first()
    )
    return count.counted_amount if count else None


def previous_closing_cash(register: Register) -> Decimal | None:
    """The cash counted at the register's last closing (None before its first): what
    the opening count is compared with."""
    return _previous_closing_cash(register)


def _register_in_service(register: Register) -> None:
    if not register.is_active:
        raise RegisterInactive(register=register.code)


def session_start(*, register: Register, user: AbstractBaseUser) -> RegisterSession:
    """Put the register in opening control (the float is being counted); the session
    already in opening control is answered again. An open one: ``session_already_open``."""
    with transaction.atomic():
        _register_in_service(register_lock(register.pk))
        current = session_current(register)
        if current is not None:
            if current.status == S.OPENING_CONTROL:
                return current
            raise SessionAlreadyOpen(register=register.code, status=current.status)
        return RegisterSession.objects.create(
            register=register,
            status=S.OPENING_CONTROL,
            currency=register.channel.currency,
            started_by=user,
        )


def session_open(
    *,
    register: Register,
    user: AbstractBaseUser,
    counted: Any,
    denominations: dict[str, Any] | None = None,
) -> RegisterSession:
    """Open the register with the cash counted in the drawer (``counted``, or the sum of
    ``denominations`` {"50.00": 2, ...}; both: they must agree). Its difference to the
    previous counted closing is recorded on its own. Refused while the register has a
    session open or closing (``session_already_open``); one in opening control is the
    one opened. Two tills opening the same register at once: one session."""
    currency = register.channel.currency
    amount, normalised = _opening_count(counted, denominations, currency=currency)
    try:
        with transaction.atomic():
            _register_in_service(register_lock(register.pk))
            session = session_current(register)
            if session is not None and session.status != S.OPENING_CONTROL:
                raise SessionAlreadyOpen(register=register.code, status=session.status)
            if session is None:
                session = RegisterSession(
                    register=register, status=S.OPENING_CONTROL, currency=currency, started_by=user
                )
            _transition(session, S.OPEN)
            previous = _previous_closing_cash(register)
            session.opened_by, session.opened_at = user, timezone.now()
            session.opening_counted_amount = amount
            session.opening_denominations = normalised
            session.previous_closing_amount = previous
            session.opening_difference_amount = None if previous is None else amount - previous
            session.save()
            jet_record(
                chain=register,
                code=E.SESSION_OPEN,
                reference=f"session:{session.pk}",
                payload={
                    "session": session.pk,
                    "by": user.pk,
                    "counted": f"{amount:.2f}",
                    "difference": None
                    if session.opening_difference_amount is None
                    else f"{session.opening_difference_amount:.2f}",
                },
            )
            return session
    except IntegrityError:
        # A writer that did not take the register's lock: the partial unique index on
        # the register's not-closed session is the last word.
        current = session_current(register)
        raise SessionAlreadyOpen(
            register=register.code, status=current.status if current else ""
        ) from None


def session_too_old(session: RegisterSession, *, now: datetime | None = None) -> bool:
    """A session not closed, open (or started) longer than ``POS_SESSION_MAX_HOURS``:
    the till must close it before selling on."""
    if session.status == S.CLOSED:
        return False
    since = session.opened_at or session.created_at
    limit = timedelta(hours=settings.POS_SESSION_MAX_HOURS)
    return (now or timezone.now()) - since > limit


def session_selling_check(register: Register) -> RegisterSession:
    """The register's open session, which a sale or a payment taken at the till needs:
    ``RegisterNotOpen`` without one, ``RegisterSessionTooOld`` past the limit."""
    session = session_current(register)
    if session is None or session.status != S.OPEN:
        raise RegisterNotOpen(register=register.code)
    if session_too_old(session):
        raise RegisterSessionTooOld(register=register.code, hours=settings.POS_SESSION_MAX_HOURS)
    return session


# --- Cash moves ---------------------------------------------------------------------


def _move_amount(kind: str, amount: Any, *, currency: str) -> Decimal:
    if kind not in CashMove.Kind.values:
        raise CashMoveInvalid(_("Choose the kind of cash move."), field="kind")
    try:
        value = _decimal(amount, field="amount", currency=currency)
    except CountInvalid as error:
        raise CashMoveInvalid(error.message, field="amount") from None
    if value == 0:
        raise CashMoveInvalid(_("A cash move is not zero."), field="amount")
    if kind in OUT_KINDS and value > 0:
        raise CashMoveInvalid(
            _("A bank drop or an expense takes cash out: type it as a negative amount."),
            field="amount",
        )
    return value


def _move_input(reason: str, client_id: str) -> tuple[str, str]:
    reason = (reason or "").strip()
    if not reason:
        raise CashMoveReasonMissing()
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise InvalidInput(
            _("This form has expired: reload the page and try again."), field="client_id"
        )
    return reason[:255], client_id


def _move_done(
    client_id: str, *, session_id: int, kind: str, amount: Decimal, reverses_id: int | None
) -> CashMove | None:
    """The move already written with this client id (a retry), if it is the same move."""
    done = CashMove.objects.filter(client_id=client_id).first()
    if done is None:
        return None
    same = (done.session_id, done.kind, done.amount, done.reverses_id) == (
        session_id,
        kind,
        amount,
        reverses_id,
    )
    if not same:
        raise CashMoveClientIdReused(client_id=client_id)
    return done


def _move_write(
    *,
    session: RegisterSession,
    kind: str,
    amount: Decimal,
    reason: str,
    client_id: str,
    user,
    approver,
    reverses: CashMove | None = None,
) -> CashMove:
    """Write the move in the open session (locked by the caller), once per client id."""
    done = _move_done(
        client_id,
        session_id=session.pk,
        kind=kind,
        amount=amount,
        reverses_id=reverses.pk if reverses else None,
    )
    if done is not None:
        return done
    if session.status != S.OPEN:
        raise SessionNotOpen(session=session.pk, status=session.status)
    limit = Decimal(settings.POS_CASH_MOVE_APPROVAL_ABOVE)
    approved_by = _approval(amount=amount, limit=limit, approver=approver, reason="cash_move")
    return CashMove.objects.create(
        session=session,
        kind=kind,
        amount=amount,
        reason=reason,
        client_id=client_id,
        created_by=user,
        approved_by=approved_by,
        reverses=reverses,
    )


def cash_move_add(
    *,
    session: RegisterSession,
    kind: str,
    amount: Any,
    reason: str,
    client_id: str,
    user: AbstractBaseUser,
    approver: AbstractBaseUser | None = None,
) -> CashMove:
    """Cash into (``amount`` > 0) or out of (< 0) the drawer of an open session: a float,
    a bank drop or an expense (out), a correction. A reason is required; above
    ``POS_CASH_MOVE_APPROVAL_ABOVE`` (either way) a manager approves (``approver``,
    authenticated by the caller). The same ``client_id`` again is the same move."""
    value = _move_amount(kind, amount, currency=session.currency)
    reason, client_id = _move_input(reason, client_id)
    with transaction.atomic():
        locked = session_lock(session.pk)
        return _move_write(
            session=locked,
            kind=kind,
            amount=value,
            reason=reason,
            client_id=client_id,
            user=user,
            approver=approver,
        )


def cash_move_reverse(
    *,
    move: CashMove,
    reason: str,
    client_id: str,
    user: AbstractBaseUser,
    approver: AbstractBaseUser | None = None,
) -> CashMove:
    """Cancel a move of an open session by a new one of the opposite amount pointing at
    it (a move is never changed or deleted). Once per move; a reversal is not itself
    reversed (add a new move). The same approval rule as adding it."""
    reason, client_id = _move_input(reason, client_id)
    with transaction.atomic():
        original = cash_move_lock(move.pk)
        if original.reverses_id is not None:
            raise CashMoveInvalid(
                _("A reversal cannot be reversed: add a new cash move instead."), field="move"
            )
        done = CashMove.objects.filter(reverses=original).first()
        if done is not None and done.client_id != client_id:
            raise CashMoveAlreadyReversed(move=original.pk)
        return _move_write(
            session=original.session,
            kind=original.kind,
            amount=-original.amount,
            reason=reason,
            client_id=client_id,
            user=user,
            approver=approver,
            reverses=original,
        )


# --- Closing ------------------------------------------------------------------------


def session_close_start(*, session: RegisterSession, user: AbstractBaseUser) -> RegisterSession:
    """Stop the session's cash moves and start counting (``closing_control``); refused
    while sales are parked at the register (recall and finish or void them first)."""
    with transaction.atomic():
        locked = session_lock(session.pk)
        _transition(locked, S.CLOSING_CONTROL)
        parked = ParkedSale.objects.filter(register_id=locked.register_id).count()
        if parked:
            raise SessionHasParkedSales(count=parked)
        locked.closing_started_at, locked.closing_started_by = timezone.now(), user
        locked.save(update_fields=["status", "closing_started_at", "closing_started_by"])
        return locked


def blind_count(register: Register) -> bool:
    """Whether the register closes by blind count: the seller counts without seeing the
    expected figures (``POS_BLIND_COUNT_PER_REGISTER`` by register code, else
    ``POS_BLIND_COUNT``). The screen hides them; the counts are stored ``blind``."""
    per_register = settings.POS_BLIND_COUNT_PER_REGISTER or {}
    return bool(per_register.get(register.code, settings.POS_BLIND_COUNT))


def closing_tolerance(register: Register) -> Decimal:
    """The register's tolerance (``POS_CLOSING_TOLERANCE_PER_REGISTER``), else the
    default ``POS_CLOSING_TOLERANCE``."""
    per_register = settings.POS_CLOSING_TOLERANCE_PER_REGISTER or {}
    return Decimal(str(per_register.get(register.code, settings.POS_CLOSING_TOLERANCE)))


def _closing_counts(counts: dict[str, Any], *, currency: str) -> dict[str, Decimal]:
    if not isinstance(counts, dict) or CASH not in counts:
        raise CountInvalid(_("Count the cash in the drawer."), field="counts.cash")
    counted = {}
    for tender, value in counts.items():
        if tender not in Payment.Method.values:
            raise CountInvalid(_("Unknown tender: %(tender)s.") % {"tender": tender}, field=tender)
        counted[tender] = count_amount(value, field=f"counts.{tender}", currency=currency)
    return counted


def _closing_approval(session: RegisterSession, figures: dict, *, approver, comment: str):
    """The approver the largest difference needs (None within the tolerance)."""
    worst = max((abs(row["difference"]) for row in figures.values()), default=Decimal(0))
    limit = closing_tolerance(session.register)
    approved_by = _approval(
        amount=worst, limit=limit, approver=approver, reason="closing_difference"
    )
    if approved_by is not None and not comment:
        raise ApprovalRequired(reason="closing_difference", limit=limit, amount=worst)
    return approved_by, limit


def _counts_write(
    session: RegisterSession, figures: dict, *, blind: bool, approved_by, limit, comment: str
) -> None:
    SessionCount.objects.bulk_create(
        SessionCount(
            session=session,
            tender=tender,
            expected_amount=row["expected"],
            counted_amount=row["counted"],
            difference_amount=row["difference"],
            blind=blind,
            approved_by=approved_by if abs(row["difference"]) > limit else None,
            comment=comment if abs(row["difference"]) > limit else "",
        )
        for tender, row in figures.items()
    )


def session_close(
    *,
    session: RegisterSession,
    counts: dict[str, Any],
    user: AbstractBaseUser,
    approver: AbstractBaseUser | None = None,
    comment: str = "",
    blind: bool = False,
) -> RegisterSession:
    """Close a session in closing control with what was counted per tender (``counts``:
    {"cash": "412.30", "card_terminal": "96.00"}; cash is required, a tender not counted
    is taken as expected). A difference above the register's tolerance needs a manager
    (``approver``) and a ``comment``. The counts and their differences, the Z report and
    ``closed`` are written in one transaction; closing twice is refused."""
    counted = _closing_counts(counts, currency=session.currency)
    comment = (comment or "").strip()
    with transaction.atomic():
        locked = session_lock(session.pk)
        _transition(locked, S.CLOSED)
        locked.closed_at, locked.closed_by = timezone.now(), user
        figures = session_differences(session_expected(locked), counted)
        approved_by, limit = _closing_approval(locked, figures, approver=approver, comment=comment)
        _counts_write(
            locked, figures, blind=blind, approved_by=approved_by, limit=limit, comment=comment
        )
        report = ZReport.objects.create(session=locked, payload=z_report_figures(locked, figures))
        locked.closing_comment, locked.closing_approved_by = comment, approved_by
        locked.save()
        register = locked.register
        z_report_record(register=register, session_id=locked.pk, payload=report.payload)
        jet_record(
            chain=register,
            code=E.SESSION_CLOSE,
            reference=f"session:{locked.pk}",
            payload={
                "session": locked.pk,
                "by": user.pk,
                "approved_by": getattr(approved_by, "pk", None),
            },
        )
        return locked
