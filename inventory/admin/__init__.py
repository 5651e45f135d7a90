"""Inventory back-office, one module per sub-domain."""

from inventory.admin import counts, imports, purchasing, stock, transfers  # noqa: F401
