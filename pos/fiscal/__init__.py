"""The fiscal journal's services (issue 15): append a record to a chain, verify every
chain, export a period's archive. The models are in pos/models/journal.py; the canonical
form and the hash in canonical.py and docs/fiscal.md."""

from pos.fiscal.archive import journal_export
from pos.fiscal.journal import (
    COMPANY,
    ChainBreak,
    JournalCheck,
    journal_append,
    journal_verify,
)

__all__ = [
    "COMPANY",
    "ChainBreak",
    "JournalCheck",
    "journal_append",
    "journal_export",
    "journal_verify",
]
