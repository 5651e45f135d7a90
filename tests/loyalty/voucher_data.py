"""Campaigns and codes for the voucher tests (plain functions: no fixture magic)."""

from __future__ import annotations

from decimal import Decimal

from loyalty.models import Promotion, VoucherCode


def campaign(**fields) -> Promotion:
    """A voucher campaign: 10 % off the order, no limit, unless ``fields`` say otherwise."""
    values = {
        "name": "Ten off",
        "stage": Promotion.Stage.ORDER,
        "reward": Promotion.Reward.PERCENT,
        "value": Decimal("10"),
        "requires_code": True,
    }
    values.update(fields)
    return Promotion.objects.create(**values)


def code(promotion: Promotion, text: str = "NOEL2345", **fields) -> VoucherCode:
    return VoucherCode.objects.create(promotion=promotion, code=text, **fields)
