"""What a promotion changes, priced by the engine (``orders.pricing.engine``) for the
admin's preview page: for a catalogue or line promotion, the variants it targets (the
first 50) with their price before and after; for an order promotion, a worked example
of a basket at its threshold.

Prices are the variants' list prices (a channel's own price may differ); a voucher
campaign is previewed as if its code were entered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Variant
from loyalty.models import Promotion
from orders.pricing.engine import LineInput, Offer, Pricing, price

PREVIEW_VARIANTS = 50
EXAMPLE_THRESHOLD = Decimal("100.00")  # an order promotion without a minimum spend
PREVIEW_CODE = "PREVIEW"

REASONS = {
    "below_minimum": _("below the minimum spend"),
    "no_eligible_line": _("nothing to take off"),
    "not_stackable": _("a better offer of its stage applies"),
}


@dataclass(frozen=True)
class VariantRow:
    variant: Variant
    quantity: int
    before: Decimal
    after: Decimal
    discount: Decimal
    reason: str


@dataclass(frozen=True)
class VariantsPreview:
    rows: list[VariantRow]
    targeted: int  # how many variants the promotion targets in all


@dataclass(frozen=True)
class ExampleLine:
    label: str
    quantity: int
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class OrderExample:
    threshold: Decimal
    lines: list[ExampleLine]
    pricing: Pricing
    reason: str


class _Tree:
    """The category tree (one query): subtrees for targets, ancestors for lines."""

    def __init__(self) -> None:
        self.parent = dict(Category.objects.values_list("id", "parent_id"))

    def ancestors(self, category_id: int | None) -> frozenset[int]:
        found: list[int] = []
        while category_id is not None and category_id not in found:
            found.append(category_id)
            category_id = self.parent.get(category_id)
        return frozenset(found)

    def subtrees(self, roots: frozenset[int]) -> set[int]:
        return {pk for pk in self.parent if self.ancestors(pk) & roots}


def _targeted(offer: Offer, tree: _Tree):
    variants = Variant.objects.filter(is_active=True, product__gift_card="")
    if offer.variant_ids or offer.product_ids or offer.category_ids:
        variants = variants.filter(
            Q(pk__in=offer.variant_ids)
            | Q(product_id__in=offer.product_ids)
            | Q(product__category_id__in=tree.subtrees(offer.category_ids))
        )
    return variants.select_related("product").order_by("product__name", "sku")


def _line(variant: Variant, quantity: int, tree: _Tree) -> LineInput:
    return LineInput(
        key=variant.pk,
        variant_id=variant.pk,
        product_id=variant.product_id,
        category_ids=tree.ancestors(variant.product.category_id),
        quantity=quantity,
        unit_price=variant.price_amount,
        vat_rate=variant.product.vat_rate,
    )


def _reason(pricing: Pricing) -> str:
    refusal = pricing.refused.get(PREVIEW_CODE)
    return str(REASONS.get(str(refusal), refusal or ""))


def _offer(promotion: Promotion) -> Offer:
    """The engine's offer for the promotion as it is saved (active or not, in its window
    or not), as if its code were entered; its targets read here (three small queries)."""
    targets = {
        f"{singular}_ids": frozenset(getattr(promotion, field).values_list("pk", flat=True))
        for singular, field in (
            ("product", "products"),
            ("category", "categories"),
            ("variant", "variants"),
        )
    }
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
        code=PREVIEW_CODE,
        **targets,
    )


def variants_preview(promotion: Promotion) -> VariantsPreview:
    """The first variants a catalogue or line promotion targets, one unit each (X + Y
    units for buy X get Y), priced alone before and after it."""
    offer, tree = _offer(promotion), _Tree()
    variants = _targeted(offer, tree)
    quantity = promotion.buy_quantity + promotion.get_quantity if offer.reward == "bxgy" else 1
    rows = []
    for variant in variants[:PREVIEW_VARIANTS]:
        pricing = price([_line(variant, quantity, tree)], [offer])
        rows.append(
            VariantRow(
                variant=variant,
                quantity=quantity,
                before=pricing.subtotal,
                after=pricing.total,
                discount=pricing.discount_amount,
                reason=_reason(pricing),
            )
        )
    return VariantsPreview(rows=rows, targeted=variants.count())


def order_example(promotion: Promotion) -> OrderExample | None:
    """A basket that just reaches an order promotion's threshold (its minimum spend, or
    100.00 without one): enough units of the first variant it targets (any item when it
    targets none), plus the free item for a free-item promotion. None when it targets
    only variants that cannot be sold."""
    offer, tree = _offer(promotion), _Tree()
    threshold = promotion.min_subtotal or EXAMPLE_THRESHOLD
    lines: list[LineInput] = []
    labels: dict[object, str] = {}
    variant = _targeted(offer, tree).exclude(pk=promotion.free_variant_id).first()
    if variant is not None and variant.price_amount > 0:
        quantity = max(1, math.ceil(threshold / variant.price_amount))
        lines.append(_line(variant, quantity, tree))
        labels[variant.pk] = f"{variant.product.name} ({variant.sku})"
    elif not (offer.variant_ids or offer.product_ids or offer.category_ids):
        lines.append(LineInput("any", 0, 0, frozenset(), 1, threshold, Decimal("20.0")))
        labels["any"] = str(_("any item"))
    else:
        return None
    if promotion.free_variant is not None:
        gift = promotion.free_variant
        lines.append(_line(gift, 1, tree))
        labels[gift.pk] = f"{gift.product.name} ({gift.sku})"
    pricing = price(lines, [offer])
    shown = [
        ExampleLine(labels[line.key], line.quantity, line.subtotal, line.total)
        for line in pricing.lines
    ]
    return OrderExample(threshold, shown, pricing, _reason(pricing))
