"""Loyalty's tables: ledgers (store credit, gift cards, points) and the offers the pricing
engine applies (promotions, vouchers). Every balance is the sum of its ledger's rows; the
database refuses UPDATE and DELETE on the ledgers.
"""

from loyalty.models.gift_cards import GiftCard, GiftCardEntry
from loyalty.models.points import PointsEntry, PointsProgramme
from loyalty.models.promotions import Promotion, VoucherCode, VoucherRedemption
from loyalty.models.store_credit import StoreCreditEntry

__all__ = [
    "GiftCard",
    "GiftCardEntry",
    "PointsEntry",
    "PointsProgramme",
    "Promotion",
    "StoreCreditEntry",
    "VoucherCode",
    "VoucherRedemption",
]
