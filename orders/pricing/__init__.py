"""Pricing: what a cart or an order draft costs, line by line (docs/pricing.md).

- ``engine``: the pure pricing engine (no database): promotions, vouchers and manual
  discounts applied in the documented order, VAT per rate after discounts, totals.
- ``allocation``: spreading an amount over lines to the cent (largest remainder).
- ``carts``: loads a cart's lines and the offers that apply, and prices it with the engine.

The package re-exports nothing: import from the module that holds the name.
"""
