"""Loyalty's writes, one module per ledger or offer (re-exports nothing):

- ``store_credit``: a customer's store credit (credit, spend, reassign, erase).
- ``gift_cards``: issue, redeem, refund to card, expire, adjust; code lookups.
- ``points``: earn, redeem, reverse, expire, adjust under the active programme.
- ``vouchers``: codes of a campaign, their use at order placement and its release.
"""
