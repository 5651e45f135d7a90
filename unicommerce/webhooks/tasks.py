"""Webhook work for the Celery workers (queue ``webhooks``: a slow receiver can only
delay other deliveries, never the stock sync or the SMS)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings


@shared_task(name="webhooks.flush", time_limit=300, soft_time_limit=280)
def webhooks_flush(endpoint_id: int) -> int:
    """Send what is due for one endpoint, then schedule the next flush if anything waits
    (a retry's back-off, or a delivery still inside its coalescing window)."""
    from unicommerce.webhooks.services import flush_forget, flush_schedule
    from unicommerce.webhooks.services import webhooks_flush as flush

    flush_forget(endpoint_id)
    result = flush(endpoint_id=endpoint_id)
    if result.next_at is not None:
        flush_schedule(endpoint_id, result.next_at)
    return result.delivered


@shared_task(name="webhooks.sweep", time_limit=60, soft_time_limit=50)
def webhooks_sweep_task() -> dict:
    from unicommerce.webhooks.services import webhooks_sweep

    return webhooks_sweep()


@shared_task(name="webhooks.prune", time_limit=600, soft_time_limit=540)
def webhooks_prune_task() -> int:
    from unicommerce.webhooks.services import webhooks_prune

    return webhooks_prune(older_than=timedelta(days=settings.WEBHOOK_KEEP_DAYS))
