"""Input and output shapes of the front-end cart and order API. Inputs check shape only;
the services check the rules."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import DateTimeField

from catalog.models import Variant
from inventory.models import Location
from orders.api.discounts import (
    DiscountOutputSerializer,
    PromotionOutputSerializer,
    VatRowOutputSerializer,
    VoucherOutputSerializer,
    discounts_payload,
    pricing_payload,
)
from orders.models import Fulfilment, Order, OrderEvent
from unicommerce.channels.models import SalesChannel
from unicommerce.converters import BIGINT_MAX

# Timeline entries a customer or a front end sees; the rest (staff notes, allocation
# overrides, internal bookkeeping) stays in the admin.
PUBLIC_EVENT_KINDS = frozenset(
    {
        "placed",
        "status",
        "awaiting_payment",
        "paid",
        "payment",
        "picking",
        "packed",
        "shipped",
        "ready",
        "collected",
        "cancelled",
        "line_cancelled",
        "edited",
        "returned",
        "return",
    }
)


# --- inputs --------------------------------------------------------------------------


class _LocationField(serializers.SlugRelatedField):
    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="code", queryset=Location.objects.all(), **kwargs)


class CartCreateInputSerializer(serializers.Serializer):
    channel = serializers.SlugRelatedField(
        slug_field="code",
        queryset=SalesChannel.objects.filter(is_active=True),
        required=False,
        help_text="Staff only: the channel the cart belongs to (a channel key or a "
        "customer token uses its own).",
    )


class LineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(required=False, help_text="The variant's SKU…")
    barcode = serializers.CharField(required=False, help_text="…or one of its barcodes…")
    variant_id = serializers.IntegerField(
        required=False, min_value=1, max_value=BIGINT_MAX, help_text="…or its id."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=9999, default=1)
    fulfilment = serializers.ChoiceField(
        choices=Fulfilment.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty: the channel's usual way (taken now in a store, shipped online).",
    )
    location = _LocationField(
        required=False,
        allow_null=True,
        help_text="Location code: the store to collect from, or where to ship from.",
    )

    def validate(self, data: dict) -> dict:
        given = [name for name in ("sku", "barcode", "variant_id") if data.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(_("Give exactly one of sku, barcode, variant_id."))
        variants = Variant.objects.filter(is_active=True).only("id", "sku", "product_id")
        if data.get("sku"):
            sku = data["sku"].strip()
            variant = variants.filter(sku=sku).first() or variants.filter(sku__iexact=sku).first()
        elif data.get("barcode"):
            variant = variants.filter(barcodes__code=data["barcode"]).first()
        else:
            variant = variants.filter(pk=data["variant_id"]).first()
        if variant is None:
            raise serializers.ValidationError({given[0]: [_("No active variant has this code.")]})
        data["variant"] = variant
        return data


class LinePatchInputSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=9999, required=False, help_text="0 removes the line."
    )
    fulfilment = serializers.ChoiceField(
        choices=Fulfilment.choices, required=False, allow_blank=True
    )
    location = _LocationField(required=False, allow_null=True)

    def validate(self, data: dict) -> dict:
        if not data:
            raise serializers.ValidationError(_("Give a quantity or a fulfilment."))
        if "location" in data and "fulfilment" not in data:
            raise serializers.ValidationError(
                {"fulfilment": [_("Give the fulfilment with the location.")]}
            )
        return data


class IdentifyInputSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class AddressInputSerializer(serializers.Serializer):
    """Checked by checkout: line1, postal_code, city and country are required when a
    line is shipped."""

    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The recipient as written on the parcel (else first_name and last_name).",
    )
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    line1 = serializers.CharField(required=False, allow_blank=True, max_length=255)
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=255)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=16)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True
    )


class LineChoiceInputSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    fulfilment = serializers.ChoiceField(choices=Fulfilment.choices)
    location = _LocationField(required=False, allow_null=True)


class CheckoutInputSerializer(serializers.Serializer):
    payment_method = serializers.CharField(
        max_length=30, help_text="pay_in_store, pay_later, or a method another app registered."
    )
    contact_email = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=254
    )
    contact_phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32
    )
    shipping_address = AddressInputSerializer(required=False, allow_null=True)
    lines = LineChoiceInputSerializer(
        many=True, required=False, help_text="Fulfilment choices per line, if changed here."
    )
    till_location = _LocationField(
        required=False,
        allow_null=True,
        help_text="A store's own front end (kiosk, seller tablet): the store handing goods "
        "over now.",
    )


# --- outputs -------------------------------------------------------------------------


class CartLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="line.id")
    variant_id = serializers.IntegerField(source="line.variant_id")
    sku = serializers.CharField(source="line.variant.sku")
    name = serializers.SerializerMethodField()
    quantity = serializers.IntegerField(source="line.quantity")
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, source="priced.unit_price_amount"
    )
    total = serializers.DecimalField(max_digits=12, decimal_places=2, source="priced.total_amount")
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=1, source="priced.vat_rate")
    discount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        source="priced.discount_amount",
        help_text="unit_price × quantity − total.",
    )
    discounts = DiscountOutputSerializer(many=True, source="priced.discounts")
    vat_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, source="priced.vat_amount"
    )
    fulfilment = serializers.CharField(
        source="line.fulfilment", help_text="Empty: the channel's usual way."
    )
    location = serializers.SerializerMethodField(help_text="Location code, or null.")
    sellable_quantity = serializers.IntegerField(
        source="sellable", help_text="What the channel can sell of this variant now."
    )
    location_quantity = serializers.IntegerField(
        source="at_location", allow_null=True, help_text="Available at the chosen location."
    )
    is_available = serializers.BooleanField()

    def get_name(self, view) -> str:
        variant = view.line.variant
        return f"{variant.product.name} {variant.label}".strip()

    def get_location(self, view) -> str | None:
        return view.line.location.code if view.line.location_id else None


class CartOutputSerializer(serializers.Serializer):
    token = serializers.CharField(source="cart.token")
    status = serializers.CharField(source="cart.status")
    channel = serializers.CharField(source="cart.channel.code")
    identified = serializers.BooleanField(
        help_text="A customer was named for this cart (who is not said: anyone may type "
        "anyone's phone)."
    )
    currency = serializers.CharField(source="cart.currency")
    expires_at = serializers.DateTimeField(source="cart.expires_at", allow_null=True)
    lines = CartLineOutputSerializer(many=True)
    item_count = serializers.IntegerField(source="pricing.item_count")
    subtotal_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        source="pricing.subtotal_amount",
        help_text="Before discounts, VAT included.",
    )
    discount_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, source="pricing.discount_amount"
    )
    total_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, source="pricing.total_amount"
    )
    vat = VatRowOutputSerializer(
        many=True, source="pricing.vat", help_text="Per rate, after discounts."
    )
    promotions = PromotionOutputSerializer(
        many=True, source="pricing.promotions", help_text="Automatic offers applied."
    )
    vouchers = VoucherOutputSerializer(
        many=True, source="pricing.vouchers", help_text="The codes entered, in order."
    )
    is_available = serializers.BooleanField(help_text="Every line can be had right now.")


class OrderLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, source="unit_price_amount"
    )
    total = serializers.DecimalField(max_digits=12, decimal_places=2, source="total_amount")
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=1)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, source="discount_amount")
    discounts = DiscountOutputSerializer(many=True)
    vat_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    fulfilment = serializers.CharField()
    location = serializers.CharField(source="location.code")
    status = serializers.CharField()
    shipment_id = serializers.IntegerField(allow_null=True)


class ShipmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    location = serializers.CharField(source="location.code")
    location_name = serializers.CharField(source="location.name")
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    ready_at = serializers.DateTimeField(allow_null=True)
    collected_at = serializers.DateTimeField(allow_null=True)


class TimelineOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    status = serializers.CharField(source="to_status")
    channel = serializers.SerializerMethodField()
    at = serializers.DateTimeField()

    def get_channel(self, event: OrderEvent) -> str | None:
        return event.channel.code if event.channel_id else None


# ``origin_channel``: the code of the channel where the cart was filled, if known. (A
# comment, not a docstring: the schema would show it as each serializer's description.)
class OriginChannelMixin:
    def get_origin_channel(self, order) -> str | None:
        return order.origin_channel.code if order.origin_channel_id else None


class OrderOutputSerializer(OriginChannelMixin, serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField(source="channel.code", help_text="Where it was checked out.")
    origin_channel = serializers.SerializerMethodField(help_text="Where the cart was filled.")
    identified = serializers.SerializerMethodField(
        help_text="The order belongs to a known customer."
    )
    currency = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Every discount of its lines."
    )
    payment_method = serializers.CharField()
    payment_status = serializers.ChoiceField(
        choices=Order.PaymentStatus.choices,
        help_text="What the order's payments add up to (unpaid, partially paid, paid, refunded).",
    )
    shipping_address = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
    lines = OrderLineOutputSerializer(many=True, source="lines.all")
    shipments = ShipmentOutputSerializer(many=True, source="shipments.all")
    timeline = serializers.SerializerMethodField()

    @extend_schema_field(TimelineOutputSerializer(many=True))
    def get_timeline(self, order) -> list[dict]:
        """The public timeline (``PUBLIC_EVENT_KINDS``), oldest first; the events are
        expected prefetched with their channel."""
        events = [
            e
            for e in order.events.all()
            if e.kind in PUBLIC_EVENT_KINDS and not (e.data or {}).get("private")
        ]
        return TimelineOutputSerializer(events, many=True).data

    def get_identified(self, order) -> bool:
        return order.customer_id is not None


class OrderSummaryOutputSerializer(OriginChannelMixin, serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    origin_channel = serializers.SerializerMethodField()
    currency = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    created_at = serializers.DateTimeField()


# --- the same outputs, built directly ------------------------------------------------
# Every cart call answers with the whole cart, and checkout with the whole order: these
# build the very shapes the serializers above declare (the OpenAPI schema), without
# DRF's per-field machinery (a third of the CPU of a checkout journey). A test checks
# that both give the same keys.


def _decimal(value) -> str:
    return f"{value:.2f}"


_DATETIME = DateTimeField()


def _moment(value) -> str | None:
    return _DATETIME.to_representation(value) if value is not None else None


def cart_payload(view) -> dict:
    cart = view.cart
    lines = []
    for line_view in view.lines:
        line, priced = line_view.line, line_view.priced
        variant = line.variant
        lines.append(
            {
                "id": line.pk,
                "variant_id": line.variant_id,
                "sku": variant.sku,
                "name": f"{variant.product.name} {variant.label}".strip(),
                "quantity": line.quantity,
                "unit_price": _decimal(priced.unit_price_amount),
                "total": _decimal(priced.total_amount),
                "vat_rate": f"{priced.vat_rate:.1f}",
                "discount": _decimal(priced.discount_amount),
                "discounts": discounts_payload(priced.discounts),
                "vat_amount": _decimal(priced.vat_amount),
                "fulfilment": line.fulfilment,
                "location": line.location.code if line.location_id else None,
                "sellable_quantity": line_view.sellable,
                "location_quantity": line_view.at_location,
                "is_available": line_view.is_available,
            }
        )
    return {
        "token": cart.token,
        "status": cart.status,
        "channel": cart.channel.code,
        "identified": cart.customer_id is not None,
        "currency": cart.currency,
        "expires_at": _moment(cart.expires_at),
        "lines": lines,
        "item_count": view.pricing.item_count,
        **pricing_payload(view.pricing),
        "total_amount": _decimal(view.pricing.total_amount),
        "is_available": view.is_available,
    }


def order_payload(order) -> dict:
    return {
        "reference": order.reference,
        "status": order.status,
        "channel": order.channel.code,
        "origin_channel": order.origin_channel.code if order.origin_channel_id else None,
        "identified": order.customer_id is not None,
        "currency": order.currency,
        "total_amount": _decimal(order.total_amount),
        "discount_amount": _decimal(order.discount_amount),
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "shipping_address": order.shipping_address,
        "created_at": _moment(order.created_at),
        "lines": [
            {
                "id": line.pk,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _decimal(line.unit_price_amount),
                "total": _decimal(line.total_amount),
                "vat_rate": f"{line.vat_rate:.1f}",
                "discount": _decimal(line.discount_amount),
                "discounts": discounts_payload(line.discounts),
                "vat_amount": _decimal(line.vat_amount) if line.vat_amount is not None else None,
                "fulfilment": line.fulfilment,
                "location": line.location.code,
                "status": line.status,
                "shipment_id": line.shipment_id,
            }
            for line in order.lines.all()
        ],
        "shipments": [
            {
                "id": shipment.pk,
                "kind": shipment.kind,
                "location": shipment.location.code,
                "location_name": shipment.location.name,
                "status": shipment.status,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "shipped_at": _moment(shipment.shipped_at),
                "ready_at": _moment(shipment.ready_at),
                "collected_at": _moment(shipment.collected_at),
            }
            for shipment in order.shipments.all()
        ],
        "timeline": [
            {
                "kind": event.kind,
                "message": event.message,
                "status": event.to_status,
                "channel": event.channel.code if event.channel_id else None,
                "at": _moment(event.at),
            }
            for event in order.events.all()
            if event.kind in PUBLIC_EVENT_KINDS and not (event.data or {}).get("private")
        ],
    }
