"""Inventory's events: what it publishes, and how it reacts."""

from unicommerce.events.registry import subscribe

STOCK_CHANGED = "stock.changed"


@subscribe(STOCK_CHANGED)
def on_stock_changed(event) -> None:
    """Recompute the sellable quantity of the touched variants on every channel."""
    from inventory.services.stock import channel_stock_refresh

    channel_stock_refresh(variant_ids=event.payload.get("variant_ids", []))
