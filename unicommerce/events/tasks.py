import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from unicommerce.events.services import event_process_batch, outbox_pending, outbox_prune

logger = logging.getLogger(__name__)
SWEEP_BATCH = 200


@shared_task(name="events.dispatch", time_limit=120, soft_time_limit=110)
def event_dispatch(event_ids: list[str]) -> int:
    """Consume outbox events (those of a mergeable topic together). Idempotent: an event
    already processed is skipped; one that fails keeps its back-off for the sweep."""
    return event_process_batch(event_ids=event_ids)


@shared_task(name="events.outbox_sweep", time_limit=60, soft_time_limit=50)
def outbox_sweep() -> int:
    """Re-send what the after-commit fast path missed (broker down, worker lost)."""
    pending = [
        str(pk)
        for pk in outbox_pending(older_than=timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS))
    ]
    for start in range(0, len(pending), SWEEP_BATCH):
        event_dispatch.apply_async(args=[pending[start : start + SWEEP_BATCH]], retry=False)
    return len(pending)


@shared_task(name="events.outbox_prune", time_limit=600, soft_time_limit=540)
def outbox_prune_task() -> int:
    """Daily: forget events processed more than OUTBOX_KEEP_DAYS ago."""
    return outbox_prune(older_than=timedelta(days=settings.OUTBOX_KEEP_DAYS))
