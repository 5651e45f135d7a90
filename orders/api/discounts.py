"""Discounts over the API: how a cart's and an order's discounts, codes and VAT are
written in answers, and the endpoints that enter and remove a voucher code on a cart.

The shapes are the same for a cart (priced now) and an order (priced once, at checkout):
each line lists its discounts (``source``: promotion, voucher or manual; ``stage``;
``label``; ``amount``), and the totals give the VAT per rate after discounts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def money(value) -> str:
    return f"{value:.2f}"


class DiscountOutputSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["promotion", "voucher", "manual"])
    stage = serializers.ChoiceField(choices=["catalogue", "line", "order", "manual"])
    label = serializers.CharField(help_text="The promotion's name, or a manual discount's reason.")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    code = serializers.CharField(allow_null=True, help_text="The voucher code, if any.")


class VatRowOutputSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=4, decimal_places=1)
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    gross = serializers.DecimalField(max_digits=12, decimal_places=2)


class RefusalOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="voucher_expired, voucher_below_minimum, …")
    message = serializers.CharField()


class VoucherOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What it takes off now."
    )
    applied = serializers.SerializerMethodField()
    refusal = serializers.SerializerMethodField(
        help_text="Why it gives nothing now; checkout refuses it the same way."
    )

    def get_applied(self, voucher) -> bool:
        return voucher.refusal is None

    @extend_schema_field(RefusalOutputSerializer(allow_null=True))
    def get_refusal(self, voucher) -> dict | None:
        refusal = voucher.refusal
        return {"code": refusal.code, "message": refusal.message} if refusal else None


class PromotionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="offer_id")
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class VoucherInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, trim_whitespace=True)


def discounts_payload(discounts) -> list[dict]:
    """A line's discounts, from the engine (a cart) or from the stored records (an
    order)."""
    rows = []
    for d in discounts:
        if isinstance(d, dict):
            rows.append(
                {
                    "source": d["source"],
                    "stage": d["stage"],
                    "label": d["label"],
                    "amount": d["amount"],
                    "code": d.get("code"),
                }
            )
        else:
            rows.append(
                {
                    "source": d.source,
                    "stage": d.stage,
                    "label": d.label,
                    "amount": money(d.amount),
                    "code": d.code,
                }
            )
    return rows


def vat_payload(rows) -> list[dict]:
    return [
        {"rate": f"{r.rate:.1f}", "net": money(r.net), "vat": money(r.vat), "gross": money(r.gross)}
        for r in rows
    ]


def pricing_payload(pricing) -> dict:
    """The cart-level figures of a ``CartPricing``."""
    return {
        "subtotal_amount": money(pricing.subtotal_amount or pricing.total_amount),
        "discount_amount": money(pricing.discount_amount),
        "vat": vat_payload(pricing.vat),
        "promotions": [
            {"id": offer.offer_id, "label": offer.label, "amount": money(offer.amount)}
            for offer in pricing.promotions
        ],
        "vouchers": [
            {
                "code": v.code,
                "amount": money(v.amount),
                "applied": v.refusal is None,
                "refusal": {"code": v.refusal.code, "message": v.refusal.message}
                if v.refusal is not None
                else None,
            }
            for v in pricing.vouchers
        ],
    }
