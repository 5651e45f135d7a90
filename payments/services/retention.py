"""How long provider webhooks are kept (payments' part of an erasure is in
``payments.services.customers``).

- ``provider_events_prune``: webhooks older than ``PROVIDER_EVENT_KEEP_DAYS`` go; those
  an operation of the ledger points at (append-only, it cannot let go) keep their row,
  which dedups the event id, with an empty payload. Its task is in ``payments.tasks``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from payments.models import PaymentOperation, ProviderEvent
from unicommerce.retention import BATCH, rows_prune

logger = logging.getLogger(__name__)


def provider_events_prune(*, now=None, batch: int = BATCH) -> int:
    """Delete provider webhooks received more than ``PROVIDER_EVENT_KEEP_DAYS`` ago, in
    batches (``unicommerce.retention``); those an operation of the append-only ledger
    points at keep their row (it dedups the event id) but lose their payload. Returns
    how many rows went."""
    now = now or timezone.now()
    before = now - timedelta(days=int(settings.PROVIDER_EVENT_KEEP_DAYS))
    referenced = Exists(PaymentOperation.objects.filter(provider_event=OuterRef("pk")))
    old = ProviderEvent.objects.filter(received_at__lt=before)
    deleted = rows_prune(old.filter(~referenced), batch=batch)
    ProviderEvent.objects.filter(
        pk__in=old.filter(referenced).exclude(payload={}).values("pk")
    ).update(payload={})
    if deleted:
        logger.info("pruned %d provider events received before %s", deleted, before)
    return deleted
