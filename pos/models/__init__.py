"""The till's tables, one module per sub-domain: registers; (issue 15) their sessions and
cash, and the fiscal journal."""

from pos.models.parked import ParkedSale
from pos.models.receipts import ReceiptPrint, StoreIdentity
from pos.models.registers import Register

__all__ = ["ParkedSale", "ReceiptPrint", "Register", "StoreIdentity"]
