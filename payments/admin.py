from django.contrib import admin

from payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "order",
        "method",
        "status",
        "amount",
        "currency",
        "tendered_amount",
        "change_amount",
    ]
    list_filter = ["method", "status", "order__channel"]
    date_hierarchy = "created_at"
    list_select_related = ["order"]
    readonly_fields = [
        "order",
        "method",
        "status",
        "amount",
        "currency",
        "tendered_amount",
        "change_amount",
        "created_at",
        "created_by",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
