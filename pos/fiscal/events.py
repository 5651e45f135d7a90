"""The technical events log (JET) and the Z reports, written to the fiscal journal in
the transaction of what they record: a session opened or closed (its Z report beside
it), a sale voided, a receipt reprinted, a store's receipt identity changed."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from inventory.models import Location
from pos.fiscal.journal import journal_append
from pos.models import JournalEventCode, JournalKind, JournalRecord, Register

E = JournalEventCode


def jet_record(
    *, chain: Register | Location | str, code: str, payload: dict[str, Any], reference: str = ""
) -> JournalRecord:
    """One technical event of ``chain`` (a register's, a store's or ``COMPANY``), now."""
    return journal_append(
        chain=chain,
        kind=JournalKind.EVENT,
        event_code=code,
        payload=payload,
        reference=reference,
        occurred_at=timezone.now(),
    )


def z_report_record(*, register: Register, session_id: int, payload: dict) -> JournalRecord:
    """The session's Z report, in the register's Z report chain."""
    return journal_append(
        chain=register,
        kind=JournalKind.Z_REPORT,
        payload={"session": session_id, **payload},
        reference=f"session:{session_id}",
        occurred_at=timezone.now(),
    )
