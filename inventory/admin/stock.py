from django.contrib import admin

from inventory.models import ChannelStock, Location, StockLevel, StockMovement
from inventory.services.locations import location_channels_set


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and derived figures: looked at, never edited here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city", "is_active"]
    list_filter = ["kind", "is_active", "channels"]
    search_fields = ["code", "name", "city"]
    filter_horizontal = ["channels", "staff"]

    def save_related(self, request, form, formsets, change):
        """Which channels a location feeds changes what they may sell: set it through
        the service, which has the figures recomputed."""
        channels = form.cleaned_data.pop("channels")
        super().save_related(request, form, formsets, change)
        location_channels_set(location=form.instance, channels=channels)


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    """Levels change only through stock operations, which write the ledger."""

    list_display = [
        "variant",
        "location",
        "on_hand",
        "reserved",
        "safety",
        "available",
        "incoming",
        "updated_at",
    ]
    list_filter = ["location"]
    search_fields = ["variant__sku", "variant__barcodes__code", "variant__product__name"]
    list_select_related = ["variant__product", "location"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "variant",
        "location",
        "quantity",
        "on_hand_after",
        "reason",
        "created_by",
        "source_type",
        "source_id",
    ]
    list_filter = ["reason", "location"]
    search_fields = ["variant__sku", "variant__barcodes__code", "source_id", "note"]
    list_select_related = ["variant__product", "location", "created_by", "source_type"]
    date_hierarchy = "created_at"


@admin.register(ChannelStock)
class ChannelStockAdmin(ReadOnlyAdmin):
    list_display = ["channel", "variant", "quantity", "version", "computed_at"]
    list_filter = ["channel"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["channel", "variant__product"]
