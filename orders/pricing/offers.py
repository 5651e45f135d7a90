"""Promotions as the engine's offers: ``loyalty.Promotion`` rows become ``Offer`` values.

The rows of ``loyalty.selectors.promotions_active`` carry their targets as id arrays
(one query for every promotion); a row read otherwise (the admin's preview) has its
targets read here, three small queries.
"""

from __future__ import annotations

from loyalty.models import Promotion
from orders.pricing.engine import Offer

_TARGETS = (
    ("product_ids", "products"),
    ("category_ids", "categories"),
    ("variant_ids", "variants"),
)


def _ids(promotion: Promotion, attribute: str, field: str) -> frozenset[int]:
    ids = getattr(promotion, attribute, None)
    if ids is None:
        ids = getattr(promotion, field).values_list("pk", flat=True)
    return frozenset(ids)


def promotion_offer(promotion: Promotion, *, code: str | None = None) -> Offer:
    """The engine's offer for ``promotion``; ``code`` is the voucher code entered for a
    campaign (None for an automatic promotion)."""
    targets = {attribute: _ids(promotion, attribute, field) for attribute, field in _TARGETS}
    return Offer(
        id=promotion.pk,
        label=promotion.name,
        stage=promotion.stage,
        reward=promotion.reward,
        value=promotion.value,
        stackable=promotion.stackable,
        priority=promotion.priority,
        min_subtotal=promotion.min_subtotal,
        buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity,
        free_variant_id=promotion.free_variant_id,
        code=code,
        **targets,
    )
