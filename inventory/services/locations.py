"""Locations and the channels they feed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from catalog.models import Variant
from inventory.events import STOCK_CHANGED
from inventory.models import Location, StockLevel
from inventory.services.stock import channel_stock_refresh
from unicommerce.channels.models import SalesChannel
from unicommerce.events.services import event_publish

BATCH = 1000


@transaction.atomic
def location_channels_set(*, location: Location, channels: Iterable[SalesChannel]) -> bool:
    """Choose which channels sell this location's stock. Every variant stocked here then
    has its sellable quantities recomputed (through the outbox, in batches)."""
    wanted = {channel.pk for channel in channels}
    current = set(location.channels.values_list("pk", flat=True))
    if wanted == current:
        return False
    location.channels.set(wanted)
    variant_ids = list(
        StockLevel.objects.filter(location=location)
        .order_by("variant_id")
        .values_list("variant_id", flat=True)
    )
    for start in range(0, len(variant_ids), BATCH):
        event_publish(
            topic=STOCK_CHANGED,
            payload={
                "variant_ids": variant_ids[start : start + BATCH],
                "location_ids": [location.pk],
                "reason": "channel_feeds",
            },
        )
    return True


def channel_stock_rebuild() -> int:
    """Recompute every variant's sellable quantities on every channel, in short
    transactions of ``BATCH`` variants (after a restore, or a new channel)."""
    changed = 0
    ids = list(Variant.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH):
        changed += len(channel_stock_refresh(variant_ids=ids[start : start + BATCH]))
    return changed
