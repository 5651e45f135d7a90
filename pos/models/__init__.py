"""The till's tables, one module per sub-domain: registers; (issue 15) their sessions and
cash, parked sales, receipts and their prints, and the fiscal journal."""

from pos.models.invoices import Invoice, InvoicePrint
from pos.models.journal import (
    GENESIS_HASH,
    JournalChain,
    JournalEventCode,
    JournalKind,
    JournalRecord,
)
from pos.models.parked import ParkedSale
from pos.models.receipts import PrintLog, ReceiptPrint, StoreIdentity
from pos.models.registers import Register
from pos.models.sessions import CashMove, RegisterSession, SessionCount, ZReport
from pos.models.tenders import SessionTender

__all__ = [
    "GENESIS_HASH",
    "CashMove",
    "Invoice",
    "InvoicePrint",
    "JournalChain",
    "JournalEventCode",
    "JournalKind",
    "JournalRecord",
    "ParkedSale",
    "PrintLog",
    "ReceiptPrint",
    "Register",
    "RegisterSession",
    "SessionCount",
    "SessionTender",
    "StoreIdentity",
    "ZReport",
]
