from datetime import timedelta

from celery import shared_task
from django.conf import settings

from unicommerce.events.services import event_process, event_relay, outbox_pending


@shared_task(name="events.dispatch", time_limit=60, soft_time_limit=50)
def event_dispatch(event_id: str) -> bool:
    """Consume one outbox event. Idempotent: a second delivery finds it processed."""
    return event_process(event_id=event_id)


@shared_task(name="events.outbox_sweep", time_limit=60, soft_time_limit=50)
def outbox_sweep() -> int:
    """Re-send what the after-commit fast path missed (broker down, worker lost)."""
    pending = outbox_pending(older_than=timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS))
    for event_id in pending:
        event_relay(event_id)
    return len(pending)
