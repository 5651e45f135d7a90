"""Loyalty's admin pages, one module per ledger or offer; importing them registers them."""

from loyalty.admin import (  # noqa: F401  (points: issue 14)
    gift_cards,
    points,
    store_credit,
)
