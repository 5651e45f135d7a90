"""What crm subscribes to (registered by ``CrmConfig.ready``); crm publishes no topic.

- ``order.placed`` (orders): the customer's order count, lifetime value, last purchase,
  preferred channel and behaviour follow each order within moments (the outbox
  consumer, batched: events of one batch are merged into one list of customers).
"""

from __future__ import annotations

from crm.services.figures import customer_figures_refresh
from orders.events import ORDER_PLACED
from unicommerce.events.registry import mergeable, subscribe


def _merge_customers(payloads: list[dict]) -> dict:
    ids = {p.get("customer_id") for p in payloads}
    return {"customer_ids": sorted(i for i in ids if i)}


mergeable(ORDER_PLACED, _merge_customers)


@subscribe(ORDER_PLACED)
def on_order_placed(event) -> None:
    """A customer's order count, lifetime value, last purchase, preferred channel and
    behaviour follow each order within moments (the outbox consumer, batched); their RFM
    quintiles, relative to everyone, are recomputed by the periodic task."""
    payload = event.payload
    ids = payload.get("customer_ids") or [payload.get("customer_id")]
    ids = [i for i in ids if i]
    if ids:
        customer_figures_refresh(customer_ids=ids, rfm=False)
