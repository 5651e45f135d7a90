"""Back office for store credit: the ledger, read-only (a correction is a new
``adjustment`` row written by ``loyalty.services.store_credit``, never an edit), with each row's
customer balance in its currency beside it."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.utils.translation import gettext_lazy as _

from loyalty.models import StoreCreditEntry
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


def _balance_subquery() -> Subquery:
    per_customer = (
        StoreCreditEntry.objects.filter(
            customer_id=OuterRef("customer_id"), currency=OuterRef("currency")
        )
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(
        per_customer,
        output_field=DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES),
    )


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "amount",
        "currency",
        "reason",
        "reference",
        "customer_balance",
        "created_by",
    ]
    list_filter = ["reason", "currency", "created_at"]
    search_fields = [
        "reference",
        "customer__email",
        "customer__phone",
        "customer__last_name",
    ]
    list_select_related = ["customer", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in StoreCreditEntry._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(balance=_balance_subquery())

    @admin.display(description=_("customer balance"), ordering="balance")
    def customer_balance(self, entry: StoreCreditEntry) -> Decimal:
        return getattr(entry, "balance", None) or Decimal("0.00")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
