"""Loyalty: store credit as an append-only ledger (points, tiers, vouchers and gift cards
arrive with the loyalty issue)."""
