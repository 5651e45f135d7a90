from rest_framework import serializers

from catalog.models import Product, Variant


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class VariantOutputSerializer(serializers.ModelSerializer):
    barcodes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    price = serializers.SerializerMethodField()
    availability = serializers.SerializerMethodField(
        help_text="Sellable quantity per sales channel code, from live stock."
    )

    class Meta:
        model = Variant
        fields = ["id", "sku", "barcodes", "attributes", "price", "availability"]

    def get_price(self, variant: Variant) -> MoneySerializer:
        return MoneySerializer({"amount": variant.price_amount, "currency": variant.currency}).data

    def get_availability(self, variant: Variant) -> dict[str, int]:
        by_channel = self.context["availability"].get(variant.pk, {})
        return {code: by_channel.get(code, 0) for code in self.context["channel_codes"]}


class ProductOutputSerializer(serializers.ModelSerializer):
    variants = VariantOutputSerializer(many=True)
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=1)

    class Meta:
        model = Product
        fields = ["id", "name", "brand", "description", "vat_rate", "variants"]
