from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from catalog.models import ChannelApiKey, Product, SalesChannel, Variant
from catalog.services import channel_api_key_create, channel_api_key_revoke


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "barcode", "attributes", "price_amount", "currency", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "brand", "vat_rate", "is_active", "updated_at"]
    list_filter = ["is_active", "vat_rate", "brand"]
    search_fields = ["name", "brand", "variants__sku", "variants__barcode"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "label", "barcode", "price_amount", "currency", "is_active"]
    list_filter = ["is_active", "product__vat_rate"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]


@admin.register(SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


@admin.register(ChannelApiKey)
class ChannelApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown once; only their hash is kept."""

    list_display = ["channel", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["channel", ("revoked_at", admin.EmptyFieldListFilter)]
    fields = ["channel", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, raw_key = channel_api_key_create(channel=obj.channel, name=obj.name)
        obj.pk = api_key.pk
        messages.warning(
            request,
            _("Copy this key now, it will not be shown again: %(key)s") % {"key": raw_key},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for api_key in queryset:
            channel_api_key_revoke(api_key=api_key)
