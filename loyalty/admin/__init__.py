"""Loyalty's admin pages, one module per ledger or offer; importing them registers them."""

from loyalty.admin import points, store_credit  # noqa: F401  (points: issue 14)
