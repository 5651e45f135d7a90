"""Loyalty ledgers (points, gift cards, store credit) and vouchers arrive with their issue."""
