from django.contrib import admin

from orders.models import Cart, CartLine, Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "sku",
        "name",
        "quantity",
        "unit_price_amount",
        "vat_rate",
        "total_amount",
        "fulfilment",
        "location",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "created_at",
        "channel",
        "customer",
        "status",
        "total_amount",
        "currency",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["id", "customer__email", "customer__phone", "lines__sku"]
    date_hierarchy = "created_at"
    list_select_related = ["channel", "customer"]
    readonly_fields = [
        "channel",
        "customer",
        "cart",
        "status",
        "currency",
        "total_amount",
        "created_at",
        "created_by",
    ]
    inlines = [OrderLineInline]

    def has_add_permission(self, request) -> bool:
        return False


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    readonly_fields = ["variant", "quantity", "added_at"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["token", "channel", "customer", "updated_at", "checked_out_at"]
    list_filter = ["channel", ("checked_out_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "token",
        "channel",
        "customer",
        "currency",
        "created_at",
        "updated_at",
        "checked_out_at",
    ]
    inlines = [CartLineInline]

    def has_add_permission(self, request) -> bool:
        return False
