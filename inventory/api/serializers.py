"""Input and output shapes of the stock and storefront API (the OpenAPI schema is built
from these)."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from catalog.api.serializers import ImageOutputSerializer
from catalog.models import Variant
from inventory.models import Location, Reservation, StockLevel, StockMovement


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class CategoryRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    path = serializers.ListField(child=serializers.CharField(), help_text="Root first.")


class VariantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    barcodes = serializers.ListField(child=serializers.CharField())
    attributes = serializers.DictField(child=serializers.CharField())
    price = MoneySerializer(help_text="VAT-inclusive; the channel's own price when it has one.")
    availability = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Sellable quantity per sales channel code (only the caller's channel for "
        "a channel key, or the `channel` asked for).",
    )
    images = ImageOutputSerializer(many=True, help_text="This variant's own pictures.")


class ProductOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    brand = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    category = CategoryRefSerializer(allow_null=True)
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=1)
    variants = VariantOutputSerializer(many=True)
    images = ImageOutputSerializer(
        many=True, help_text="In order: the product's and its variants' pictures."
    )


class StoreAvailabilitySerializer(serializers.Serializer):
    location = serializers.CharField(help_text="Location code.")
    name = serializers.CharField()
    city = serializers.CharField(allow_blank=True)
    kind = serializers.CharField()
    available = serializers.IntegerField()


class VariantStoresSerializer(serializers.Serializer):
    sku = serializers.CharField()
    stores = StoreAvailabilitySerializer(many=True)


# --------------------------------------------------------------------------- inputs


class SkuField(serializers.SlugRelatedField):
    """A variant given by its SKU (case-insensitive)."""

    def __init__(self, **kwargs):
        super().__init__(
            slug_field="sku", queryset=Variant.objects.filter(is_active=True), **kwargs
        )

    def to_internal_value(self, data):
        variant = self.get_queryset().filter(sku__iexact=str(data).strip()).first()
        if variant is None:
            self.fail("does_not_exist", slug_name="sku", value=data)
        return variant


class LocationField(serializers.SlugRelatedField):
    """A location given by its code."""

    def __init__(self, **kwargs):
        super().__init__(
            slug_field="code", queryset=Location.objects.filter(is_active=True), **kwargs
        )


class ReceiptInputSerializer(serializers.Serializer):
    sku = SkuField()
    location = LocationField()
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AdjustmentInputSerializer(serializers.Serializer):
    REASONS = [
        StockMovement.Reason.ADJUSTMENT,
        StockMovement.Reason.DAMAGE,
        StockMovement.Reason.COUNT,
        StockMovement.Reason.RETURN,
    ]

    sku = SkuField()
    location = LocationField()
    quantity = serializers.IntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="Signed: positive in, negative out."
    )
    reason = serializers.ChoiceField(choices=REASONS)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_quantity(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError(_("An adjustment of zero changes nothing."))
        return value


class MovementOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "sku",
            "location",
            "quantity",
            "on_hand_after",
            "reason",
            "note",
            "created_at",
        ]


class LevelOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    reserved = serializers.IntegerField(source="reserved_now")
    available = serializers.IntegerField(source="available_now")

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "safety", "available", "incoming"]


class ReservationInputSerializer(serializers.Serializer):
    sku = SkuField()
    location = LocationField()
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    expires_in = serializers.IntegerField(
        min_value=1,
        max_value=60 * 60 * 24 * 30,
        required=False,
        allow_null=True,
        default=None,
        help_text="Seconds until the units go back on sale; empty holds until released.",
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ReservationOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    channel = serializers.CharField(source="channel.code", allow_null=True, default=None)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "sku",
            "location",
            "channel",
            "quantity",
            "status",
            "expires_at",
            "reference",
            "created_at",
            "ended_at",
        ]


class StockChangeSerializer(serializers.Serializer):
    sku = serializers.CharField()
    variant_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="What the channel may sell now.")
    version = serializers.IntegerField(
        help_text="Grows at each change of this variant on this channel (as in webhooks)."
    )
    computed_at = serializers.DateTimeField()


class StockChangesPageSerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = StockChangeSerializer(many=True)
    cursor = serializers.CharField(help_text="Send it back as `cursor` to get what changes next.")
    has_more = serializers.BooleanField(help_text="More changes wait: ask again at once.")
