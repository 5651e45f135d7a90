"""Loyalty's admin pages, one module per ledger or offer; importing them registers them."""

from loyalty.admin import (
    gift_cards,  # noqa: F401
    store_credit,  # noqa: F401
)
