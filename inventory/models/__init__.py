"""Inventory's models, one module per sub-domain; Django finds them here."""

from inventory.models.documents import StockCount, StockCountLine, Transfer, TransferLine
from inventory.models.imports import ImportJob
from inventory.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReplenishmentRule,
    StockAlert,
    Supplier,
    SupplierItem,
)
from inventory.models.stock import ChannelStock, Location, Reservation, StockLevel, StockMovement
from inventory.models.unbooked import UnbookedSale

__all__ = [
    "ChannelStock",
    "ImportJob",
    "Location",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "ReplenishmentRule",
    "Reservation",
    "StockAlert",
    "StockCount",
    "StockCountLine",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierItem",
    "Transfer",
    "TransferLine",
    "UnbookedSale",
]
