"""Publishing and consuming outbox events."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

from django.db import models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from unicommerce.events.models import OutboxEvent
from unicommerce.events.registry import handlers_for, merger_for

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


class EventInsert(NamedTuple):
    """The parts of an INSERT of one outbox event: ``{into} VALUES ({values})`` or
    ``{into} SELECT {values} FROM …`` inside a caller's statement."""

    into: str
    values: str
    params: list
    event_id: UUID


def event_insert_sql(*, topic: str, payload: dict[str, Any]) -> EventInsert:
    """An outbox event as SQL parts, for the hottest paths that write their change and
    its event in a single statement. The caller must then call
    ``event_relay_after_commit(event_id)``."""
    event_id = uuid.uuid4()
    table = OutboxEvent._meta.db_table
    return EventInsert(
        into=f"INSERT INTO {table} (id, topic, payload, created_at, attempts, last_error)",
        values="%s, %s, %s, now(), 0, ''",
        params=[event_id, topic, Jsonb(payload)],
        event_id=event_id,
    )


def event_relay_after_commit(event_id: UUID) -> None:
    transaction.on_commit(partial(event_relay, event_id))


def event_relay(event_id: UUID) -> None:
    """After commit: queue the event for this process's relay thread, which hands it to
    Celery (see relay.py). A sale never waits for, or fails on, the broker."""
    from unicommerce.events.relay import relay

    relay.submit(event_id)


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


def event_process_batch(*, event_ids: list) -> int:
    """Process a batch of events; those of a mergeable topic together (with the other
    pending ones of that topic), in one transaction, their handlers run once on the
    merged payload (a burst of 500 sales becomes one recomputation). Anything else, or a
    merged run that fails, goes one event at a time. Returns how many events were
    processed."""
    by_topic: dict[str, list] = {}
    for event_id, topic in OutboxEvent.objects.filter(
        pk__in=event_ids, processed_at__isnull=True
    ).values_list("pk", "topic"):
        by_topic.setdefault(topic, []).append(event_id)
    processed = 0
    single: list = []
    for topic, ids in by_topic.items():
        merge = merger_for(topic)
        if merge is None:
            single += ids
            continue
        try:
            processed += _process_merged(topic, ids, merge)
        except Exception:
            logger.exception("merged processing of %d %s events failed", len(ids), topic)
            single += ids  # each on its own: the failing one records its error
    for event_id in single:
        try:
            processed += event_process(event_id=event_id)
        except Exception:  # recorded on the event by event_process; the others go on
            logger.exception("outbox event %s failed", event_id)
    return processed


MERGE_LIMIT = 500


def _process_merged(topic: str, event_ids: list, merge) -> int:
    """Handle these events together with every other pending one of the topic that no
    one holds (up to MERGE_LIMIT): when the worker falls behind, its batches grow, so a
    backlog costs a few recomputations instead of one per message."""
    now = timezone.now()
    with transaction.atomic():
        waiting = (
            OutboxEvent.objects.filter(topic=topic, processed_at__isnull=True, created_at__lte=now)
            .filter(models.Q(available_at__isnull=True) | models.Q(available_at__lte=now))
            .order_by("created_at")
            .values("pk")[:MERGE_LIMIT]
        )
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(models.Q(pk__in=event_ids) | models.Q(pk__in=waiting))
            .filter(processed_at__isnull=True)
            .order_by("pk")
        )
        if not events:
            return 0
        merged = OutboxEvent(topic=topic, payload=merge([event.payload for event in events]))
        for handler in handlers_for(topic):
            handler(merged)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            processed_at=timezone.now(), attempts=models.F("attempts") + 1, last_error=""
        )
        return len(events)


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


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete processed events older than ``older_than``: the outbox is a conveyor, not
    an archive (the ledgers and timelines are the history)."""
    deleted, _ = OutboxEvent.objects.filter(
        processed_at__isnull=False, processed_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def outbox_pending(*, older_than: timedelta, limit: int = 500) -> list[UUID]:
    """Events the fast path has not delivered: unprocessed, a little old, not backing off."""
    now = timezone.now()
    return list(
        OutboxEvent.objects.filter(processed_at__isnull=True, created_at__lte=now - older_than)
        .exclude(available_at__gt=now)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
