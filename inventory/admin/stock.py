from django.contrib import admin
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.admin.scoping import LocationScopedAdmin
from inventory.models import ChannelStock, Location, StockLevel, StockMovement, UnbookedSale
from inventory.selectors import levels_with_availability, stock_fingerprint
from inventory.services.locations import location_channels_set
from unicommerce.converters import whole_number

LIVE_IDS_MAX = 1000  # stock levels one live poll may ask about


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
    list_display = ["code", "name", "kind", "city", "unbooked_sale_policy", "is_active"]
    list_filter = ["kind", "is_active", "unbooked_sale_policy", "channels"]
    search_fields = ["code", "name", "city"]
    filter_horizontal = ["channels", "staff"]

    def save_related(self, request, form, formsets, change):
        """Which channels a location feeds changes what they may sell: set it through
        the service, which has the figures recomputed."""
        channels = form.cleaned_data.pop("channels")
        super().save_related(request, form, formsets, change)
        location_channels_set(location=form.instance, channels=channels)


@admin.register(StockLevel)
class StockLevelAdmin(LocationScopedAdmin, ReadOnlyAdmin):
    """Levels change only through stock operations, which write the ledger.

    The change list is live: a small script (static/inventory/live_stock.js) asks
    ``live_view`` every second whether the levels shown changed, and updates the
    changed cells in place; it shows on hand below zero (an item sold though not in the
    books) in red. Reserved and available are counted as every read counts
    them: units of a reservation past its time are free at once, before the expiry task
    releases them.
    """

    list_display = [
        "variant",
        "location",
        "on_hand",
        "reserved_now",
        "safety",
        "available_now",
        "incoming",
        "updated_at",
    ]
    # The columns live_view sends (the others never change for a level).
    live_columns = ["on_hand", "reserved_now", "safety", "available_now", "incoming", "updated_at"]
    list_filter = ["location"]
    search_fields = ["variant__sku", "variant__barcodes__code", "variant__product__name"]
    list_select_related = ["variant__product", "location"]

    def get_queryset(self, request):
        return levels_with_availability(super().get_queryset(request))

    @admin.display(description=_("reserved"), ordering="reserved_now")
    def reserved_now(self, level: StockLevel) -> int:
        return level.reserved_now

    @admin.display(description=_("Available"), ordering="available_now")
    def available_now(self, level: StockLevel) -> int:
        return level.available_now

    def get_urls(self):
        live = path(
            "live/",
            self.admin_site.admin_view(self.live_view),
            name="inventory_stocklevel_live",
        )
        return [live, *super().get_urls()]

    def live_view(self, request: HttpRequest) -> HttpResponse:
        """The figures of the levels ``?ids=`` if they changed since the fingerprint
        ``?since=``: 204 and one indexed query while they have not, else
        ``{"fingerprint": …, "rows": {id: {column: text as the list shows it}}}``.

        A poll, not an event stream: the web runs on gunicorn sync workers, where a
        stream held open by every back-office tab would pin a worker process each (see
        pos/web/catalog.py). The page carries no fingerprint: its rows were read before one
        could be taken of them, so the first poll always answers with the figures, and
        a change committed in between is never missed.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        text = request.GET.get("ids", "")
        parts = text.split(",") if text else []
        ids = [whole_number(part, minimum=1) for part in parts[: LIVE_IDS_MAX + 1]]
        if len(parts) > LIVE_IDS_MAX or None in ids:
            message = gettext("Give up to %(max)s stock level ids, separated by commas.")
            return JsonResponse({"error": message % {"max": LIVE_IDS_MAX}}, status=400)
        fingerprint = stock_fingerprint(level_ids=ids)  # before the figures
        if fingerprint == request.GET.get("since"):
            response = HttpResponse(status=204)
        else:
            levels = levels_with_availability(StockLevel.objects.filter(pk__in=ids))
            rows = {
                str(level.pk): {name: self._live_cell(level, name) for name in self.live_columns}
                for level in levels
            }
            response = JsonResponse({"fingerprint": fingerprint, "rows": rows})
        add_never_cache_headers(response)
        return response

    def _live_cell(self, level: StockLevel, name: str) -> str:
        """A cell's text exactly as the change list renders it."""
        empty = self.get_empty_value_display()
        field, attr, value = lookup_field(name, level, self)
        if field is None:
            return str(display_for_value(value, empty, getattr(attr, "boolean", False)))
        return str(display_for_field(value, field, empty))


@admin.register(StockMovement)
class StockMovementAdmin(LocationScopedAdmin, ReadOnlyAdmin):
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


@admin.register(UnbookedSale)
class UnbookedSaleAdmin(LocationScopedAdmin, ReadOnlyAdmin):
    """Items sold though the books said they were not here: who sold, why, who approved;
    the ledger rows point here (inventory.services.unbooked)."""

    list_display = [
        "created_at",
        "variant",
        "location",
        "quantity",
        "reason",
        "note",
        "seller",
        "approver",
        "status",
        "used_at",
    ]
    list_filter = ["status", "reason", "location"]
    search_fields = ["variant__sku", "variant__product__name", "note", "reference"]
    list_select_related = ["variant__product", "location", "seller", "approver"]
    date_hierarchy = "created_at"


@admin.register(ChannelStock)
class ChannelStockAdmin(ReadOnlyAdmin):
    list_display = ["channel", "variant", "quantity", "version", "computed_at"]
    list_filter = ["channel"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["channel", "variant__product"]
