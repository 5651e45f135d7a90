"""Orders' events: what it publishes (its subscriptions, when it has some, go here too).

The customer figures that follow each order subscribe to ``ORDER_PLACED`` where they
are computed (``crm.events`` today).
"""

from unicommerce.events.registry import topic

ORDER_PLACED = topic(
    "order.placed",
    payload={
        "order_id": "id of the new order",
        "reference": "the order's reference (UC00000042)",
        "channel_id": "id of the channel it was checked out on",
        "origin_channel_id": "id of the channel whose cart it was (filled there)",
        "customer_id": "id of its customer, or null for an anonymous order",
    },
    doc="An order was placed: a cart checked out on any channel (web, API, till).",
)
