"""Retention: deleting rows past their keeping time without locking a table.

``rows_prune(queryset)`` deletes what ``queryset`` selects in batches, each in its own
short transaction: the ids of a batch are read in primary-key order after the last
batch (a walk of the primary-key index, so the whole prune reads the table once), locked
with SKIP LOCKED (a row a request is using now is left for the next run), and deleted
with the same conditions re-applied. Each app's ``<entity>_prune`` function says what is
old; its beat task (``CELERY_BEAT_SCHEDULE``) runs it nightly.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

BATCH = 1000


def rows_prune(queryset: QuerySet, *, batch: int = BATCH) -> int:
    """Delete the rows of ``queryset`` (and what cascades from them) in batches of
    ``batch``; return how many rows of the queryset's model went."""
    model = queryset.model
    label = model._meta.label
    deleted, last = 0, None
    while True:
        with transaction.atomic():
            page = queryset.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            ids = list(
                page.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :batch
                ]
            )
            if not ids:
                return deleted
            last = ids[-1]
            _total, per_model = queryset.filter(pk__in=ids).delete()
            deleted += per_model.get(label, 0)
