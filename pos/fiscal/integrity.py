"""An integrity check of the whole fiscal journal, logged in the technical events log
(JET) whatever its result: the same for ``manage.py fiscal_verify`` and the admin's
*Verify the journal* page."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pos.fiscal.canonical import chain_identity
from pos.fiscal.journal import COMPANY, JournalCheck, journal_append, journal_verify
from pos.models import JournalEventCode, JournalKind, JournalRecord


def journal_check_logged() -> tuple[JournalCheck, JournalRecord]:
    """Verify every chain, then record the check (its result and the first broken record
    of each broken chain) as a company JET event."""
    check = journal_verify()
    breaks = [
        {
            "chain": chain_identity(
                kind=b.chain.kind, register_id=b.chain.register_id, store_id=b.chain.store_id
            ),
            "number": b.number,
            "problem": b.problem,
        }
        for b in check.breaks
    ]
    with transaction.atomic():
        record = journal_append(
            chain=COMPANY,
            kind=JournalKind.EVENT,
            event_code=JournalEventCode.INTEGRITY_CHECK,
            occurred_at=timezone.now(),
            payload={
                "result": "intact" if check.intact else "broken",
                "chains": check.chains,
                "records": check.records,
                "breaks": breaks,
            },
        )
    return check, record
