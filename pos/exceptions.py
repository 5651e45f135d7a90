"""The till's refusals (typed domain errors: nothing was changed)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from unicommerce.exceptions import DomainError, Forbidden, InvalidInput, InvalidTransition


class JournalKindNotAllowed(InvalidInput):
    """This kind of record has no chain at this scope (a ticket of the company, say)."""

    code = "journal_kind_not_allowed"

    def __init__(self, *, kind: str, scope: str, allowed: list[str]) -> None:
        super().__init__(
            _("A %(scope)s has no fiscal journal of kind “%(kind)s”.")
            % {"scope": scope, "kind": kind},
            kind=kind,
            scope=scope,
            allowed=allowed,
        )


class JournalEventCodeInvalid(InvalidInput):
    """A technical event needs a known code; other records take none."""

    code = "journal_event_code_invalid"

    def __init__(self, *, kind: str, event_code: str) -> None:
        super().__init__(
            _("“%(event_code)s” is not an event code for a journal record of kind “%(kind)s”.")
            % {"event_code": event_code, "kind": kind},
            kind=kind,
            event_code=event_code,
        )


class JournalPayloadInvalid(InvalidInput):
    """The payload holds something the canonical form cannot keep exactly."""

    code = "journal_payload_invalid"

    def __init__(self, *, path: str, problem: str) -> None:
        super().__init__(
            _("The journal record cannot hold %(path)s: %(problem)s.")
            % {"path": path, "problem": problem},
            path=path,
            problem=problem,
        )


class JournalTimeInvalid(InvalidInput):
    code = "journal_time_invalid"

    def __init__(self) -> None:
        super().__init__(_("A journal record's time must carry its time zone."))


class SessionAlreadyOpen(DomainError):
    code = "session_already_open"

    def __init__(self, *, register: str, status: str) -> None:
        super().__init__(
            _("Register %(register)s already has a session that is not closed.")
            % {"register": register},
            register=register,
            status=status,
        )


class RegisterInactive(DomainError):
    code = "register_inactive"

    def __init__(self, *, register: str) -> None:
        super().__init__(
            _("Register %(register)s is not in service: no session opens on it.")
            % {"register": register},
            register=register,
        )


class SessionTransitionInvalid(InvalidTransition):
    """A session only moves forward: opening control, open, closing control, closed."""

    code = "session_transition_invalid"

    def __init__(self, *, session: int, from_status: str, to_status: str) -> None:
        super().__init__(
            _("This session is %(status)s: it cannot go to %(target)s.")
            % {"status": from_status, "target": to_status},
            session=session,
            from_status=from_status,
            to_status=to_status,
        )


class SessionNotOpen(DomainError):
    code = "session_not_open"

    def __init__(self, *, session: int, status: str) -> None:
        super().__init__(
            _("This session is not open (it is %(status)s): no cash can move in it.")
            % {"status": status},
            session=session,
            status=status,
        )


class CountInvalid(InvalidInput):
    """A count that is not a non-negative amount, or a denomination that is not a
    positive value with a whole, non-negative number of notes or coins."""

    code = "count_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class CashMoveReasonMissing(InvalidInput):
    code = "cash_move_reason_missing"

    def __init__(self) -> None:
        super().__init__(_("Say why this cash moves."), field="reason")


class CashMoveInvalid(InvalidInput):
    code = "cash_move_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class CashMoveClientIdReused(DomainError):
    """The same client id was sent with another move: a bug of the client, not a retry."""

    code = "cash_move_client_id_reused"

    def __init__(self, *, client_id: str) -> None:
        super().__init__(
            _("This cash move's id was already used for another move."), client_id=client_id
        )


class CashMoveAlreadyReversed(DomainError):
    code = "cash_move_already_reversed"

    def __init__(self, *, move: int) -> None:
        super().__init__(_("This cash move was already reversed."), move=move)


class ApprovalRequired(Forbidden):
    """Above a limit, a manager (``pos.approve_cash``) approves on the till; ``reason``
    names the limit (``cash_move`` or ``closing_difference``)."""

    code = "approval_required"

    def __init__(self, *, reason: str, limit: Decimal, amount: Decimal) -> None:
        messages = {
            "cash_move": _("A cash move of more than %(limit)s needs a manager's approval."),
            "closing_difference": _(
                "A difference of more than %(limit)s needs a manager's approval and a comment."
            ),
        }
        super().__init__(
            messages[reason] % {"limit": limit},
            reason=reason,
            limit=str(limit),
            amount=str(amount),
        )


class ApproverNotAllowed(Forbidden):
    code = "approver_not_allowed"

    def __init__(self) -> None:
        super().__init__(_("This person may not approve cash differences."))


class SessionHasParkedSales(DomainError):
    """Closing would leave parked sales out of the session's figures."""

    code = "session_has_parked_sales"
    http_status = 409

    def __init__(self, *, count: int) -> None:
        super().__init__(
            ngettext(
                "%(count)d sale is parked at this register: recall it and finish or void "
                "it before closing.",
                "%(count)d sales are parked at this register: recall them and finish or "
                "void them before closing.",
                count,
            )
            % {"count": count},
            count=count,
        )


class RegisterNotOpen(DomainError):
    """Selling, or taking money, at a register without an open session."""

    code = "register_not_open"
    http_status = 409

    def __init__(self, *, register: str) -> None:
        super().__init__(
            _("Open the register (count the cash in the drawer) before selling."),
            register=register,
        )


class RegisterSessionTooOld(DomainError):
    """A session open longer than POS_SESSION_MAX_HOURS blocks new sales until closed."""

    code = "register_session_too_old"
    http_status = 409

    def __init__(self, *, register: str, hours: int) -> None:
        super().__init__(
            _(
                "This register has been open for more than %(hours)d hours: close it (count "
                "the drawer) and open it again before selling."
            )
            % {"hours": hours},
            register=register,
        )


class JournalRecordImmutable(Forbidden):
    """A change or deletion of a fiscal journal record through the ORM, refused before
    it reaches the database (whose trigger would refuse it too); the attempt is logged
    in the technical events log (``tampering_attempt``)."""

    code = "journal_record_immutable"

    def __init__(self, *, operation: str, records: int) -> None:
        super().__init__(
            _(
                "The fiscal journal cannot be changed or deleted: a correction is a new "
                "record (a credit note, a void). The attempt has been logged."
            ),
            operation=operation,
            records=records,
        )
