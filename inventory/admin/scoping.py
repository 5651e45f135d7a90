"""Store scoping in the admin: a member of staff who is not head office lists and opens
only what concerns the locations they are staff of — the same rule as the POS and the
staff API (``orders.selectors``, ``inventory.selectors.staff_location_ids``). An object
outside their stores is not found (the admin's "does not exist" redirect), and the
actions and buttons of its page, which load it the same way, never reach it."""

from __future__ import annotations

from django.db.models import Q

from inventory.selectors import staff_location_ids


def locations_filter(user, queryset, *fields: str):
    """Rows whose ``fields`` (location foreign keys) name one of the user's locations."""
    ids = staff_location_ids(user)
    if ids is None:
        return queryset
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__in": ids})
    return queryset.filter(condition)


class StoreScopedAdmin:
    """Mixed into a ModelAdmin (first): ``store_scope(user, queryset)`` keeps what the
    user may see, e.g. ``store_scope = staticmethod(orders_visible_to)``."""

    store_scope = staticmethod(lambda user, queryset: queryset.none())

    def get_queryset(self, request):
        return self.store_scope(request.user, super().get_queryset(request))


class LocationScopedAdmin:
    """Mixed into a ModelAdmin (first): rows at one of the user's locations, through the
    location foreign keys named in ``scope_location_fields``."""

    scope_location_fields: tuple[str, ...] = ("location",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return locations_filter(request.user, queryset, *self.scope_location_fields)
