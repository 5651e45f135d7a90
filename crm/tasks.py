"""crm's background work. Periodic tasks are scheduled in settings
(CELERY_BEAT_SCHEDULE); each one is idempotent and safe to run twice."""

from celery import shared_task

from crm.services.figures import customer_figures_refresh


# The name is older than crm (the figures were orders'): the beat schedule and messages
# already queued know it by this one.
@shared_task(name="orders.customer_figures_refresh", time_limit=900, soft_time_limit=840)
def customer_figures_refresh_task(customer_ids: list[int] | None = None) -> int:
    """Recompute customers' order figures, channel behaviour and RFM segments (all
    customers when ``customer_ids`` is None): three set-based statements."""
    return customer_figures_refresh(customer_ids=customer_ids)
