from django.contrib import admin

from pos.models import ReceiptPrint, Register, StoreIdentity


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location", "channel", "is_active"]
    list_filter = ["location", "is_active"]
    search_fields = ["code", "name"]


@admin.register(StoreIdentity)
class StoreIdentityAdmin(admin.ModelAdmin):
    """What each store's receipts say about the seller (legal name, SIRET, VAT number)."""

    list_display = ["location", "legal_name", "siret", "vat_number", "updated_at"]
    search_fields = ["legal_name", "siret", "location__name"]
    autocomplete_fields = ["location"]


@admin.register(ReceiptPrint)
class ReceiptPrintAdmin(admin.ModelAdmin):
    """The log of printed receipts (originals and duplicates): read only."""

    list_display = ["order", "kind", "number", "register", "printed_by", "printed_at"]
    list_filter = ["kind", "register"]
    search_fields = ["order__id"]
    list_select_related = ["order", "register", "printed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
