"""Publishing and consuming outbox events."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from unicommerce.events.models import OutboxEvent
from unicommerce.events.registry import handlers_for

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)


def event_publish(*, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the caller's transaction; relay it to Celery once that commits.

    Must be called inside ``transaction.atomic()``: an event outside a transaction
    could be relayed for a change that is then rolled back.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("event_publish() must run inside the transaction of the change")
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    transaction.on_commit(partial(event_relay, event.id))
    return event


def event_relay(event_id: UUID) -> None:
    """Hand one event to Celery. If Redis is down the event stays in the outbox and the
    periodic sweep sends it later: a sale never waits for, or fails on, the broker."""
    from unicommerce.events.tasks import event_dispatch

    try:
        event_dispatch.apply_async(args=[str(event_id)], retry=False)
    except Exception:  # the broker is unreachable: the sweep will catch up
        logger.warning("outbox relay of %s failed; the sweep will retry", event_id, exc_info=True)


def event_process(*, event_id: UUID | str) -> bool:
    """Run every handler of one event exactly once. Returns False when there was nothing
    to do (already processed, or being processed by another worker right now)."""
    try:
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(pk=event_id, processed_at__isnull=True)
                .first()
            )
            if event is None:
                return False
            for handler in handlers_for(event.topic):
                handler(event)
            event.processed_at = timezone.now()
            event.attempts += 1
            event.last_error = ""
            event.save(update_fields=["processed_at", "attempts", "last_error"])
            return True
    except Exception as error:
        _record_failure(event_id, error)
        raise


def _record_failure(event_id: UUID | str, error: Exception) -> None:
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.processed_at is not None:
            return
        event.attempts += 1
        backoff = min(timedelta(seconds=2**event.attempts), MAX_BACKOFF)
        event.available_at = timezone.now() + backoff
        event.last_error = f"{type(error).__name__}: {error}"[:2000]
        event.save(update_fields=["attempts", "available_at", "last_error"])


def outbox_pending(*, older_than: timedelta, limit: int = 500) -> list[UUID]:
    """Events the fast path has not delivered: unprocessed, a little old, not backing off."""
    now = timezone.now()
    return list(
        OutboxEvent.objects.filter(processed_at__isnull=True, created_at__lte=now - older_than)
        .exclude(available_at__gt=now)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
