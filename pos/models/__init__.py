"""The till's tables, one module per sub-domain: registers; (issue 15) their sessions and
cash, and the fiscal journal."""

from pos.models.journal import (
    GENESIS_HASH,
    JournalChain,
    JournalEventCode,
    JournalKind,
    JournalRecord,
)
from pos.models.registers import Register

__all__ = [
    "GENESIS_HASH",
    "JournalChain",
    "JournalEventCode",
    "JournalKind",
    "JournalRecord",
    "Register",
]
