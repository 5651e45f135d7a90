"""The till's refusals (typed domain errors: nothing was changed)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from unicommerce.exceptions import InvalidInput


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
