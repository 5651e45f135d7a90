"""The till's tables, one module per sub-domain: registers; (issue 15) parked sales,
receipts and their prints, the fiscal journal, and the registers' sessions and cash."""

from pos.models.journal import (
    GENESIS_HASH,
    JournalChain,
    JournalEventCode,
    JournalKind,
    JournalRecord,
)
from pos.models.parked import ParkedSale
from pos.models.receipts import ReceiptPrint, StoreIdentity
from pos.models.registers import Register

__all__ = [
    "GENESIS_HASH",
    "JournalChain",
    "JournalEventCode",
    "JournalKind",
    "JournalRecord",
    "ParkedSale",
    "ReceiptPrint",
    "Register",
    "StoreIdentity",
]
