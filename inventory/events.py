"""Inventory's events: what it publishes, and how it reacts."""

from unicommerce.events.registry import mergeable, subscribe, topic

STOCK_CHANGED = topic(
    "stock.changed",
    payload={
        "variant_ids": "ids of the variants whose stock moved",
        "location_ids": "ids of the locations where it moved",
        "reason": "why: sale, receipt, count, transfer, reservation_expired, merged…",
    },
    doc="Stock levels moved (ledger rows, reservations, a location's sellability).",
)


def _merge_stock_changed(payloads: list[dict]) -> dict:
    """Many stock changes, one recomputation: the union of what they touched."""
    return {
        "variant_ids": sorted({v for p in payloads for v in p.get("variant_ids", [])}),
        "location_ids": sorted({loc for p in payloads for loc in p.get("location_ids", [])}),
        "reason": "merged",
    }


mergeable(STOCK_CHANGED, _merge_stock_changed)


@subscribe(STOCK_CHANGED)
def on_stock_changed(event) -> None:
    """Recompute the sellable quantity of the touched variants on every channel."""
    from inventory.services.stock import channel_stock_refresh

    channel_stock_refresh(variant_ids=event.payload.get("variant_ids", []))


@subscribe(STOCK_CHANGED)
def on_stock_changed_replenish(event) -> None:
    """Raise low-stock alerts and draft purchase orders for the touched levels (and
    resolve the alerts of levels that are back above their minimum)."""
    from inventory.services.replenishment import replenishment_check

    replenishment_check(
        variant_ids=event.payload.get("variant_ids", []),
        location_ids=event.payload.get("location_ids", []),
    )


@subscribe(STOCK_CHANGED)
def on_stock_changed_below_zero(event) -> None:
    """Resolve the "below zero: count it" alerts of touched levels back at zero or above
    (the count was posted, the goods were received)."""
    from inventory.services.unbooked import below_zero_alerts_resolve

    below_zero_alerts_resolve(
        variant_ids=event.payload.get("variant_ids", []),
        location_ids=event.payload.get("location_ids", []),
    )
