"""A running import's figures: the runner publishes them through the cache (its
transaction hides them from the row), ``import_progress`` merges them with the row."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext_lazy

from inventory.models import ImportJob

logger = logging.getLogger(__name__)

Status = ImportJob.Status
FINISHED = frozenset({Status.DONE, Status.FAILED})

PROGRESS_EVERY = 250  # rows between two progress figures (and the size of a stock batch)
PROGRESS_TIMEOUT = 2 * 3600  # longer than the task's time limit
PROGRESS_KEPT = 3600  # after the end; the row has the final figures anyway
CHECKING = "checking"
WRITING = "writing"
PHASE_LABELS = {CHECKING: gettext_lazy("checking every row"), WRITING: gettext_lazy("writing")}


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def _cache_set(key: str, value: dict, timeout: int) -> None:
    # Progress is a courtesy: an unreachable cache must never fail an import.
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("could not publish import progress %s", key, exc_info=True)


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("could not clear import progress %s", key, exc_info=True)


def progress_clear(job_id: int) -> None:
    """Forget the figures a job of an earlier database (same id) may have left."""
    _cache_delete(progress_key(job_id))


def _cache_get(key: str) -> dict | None:
    try:
        return cache.get(key)
    except Exception:
        logger.warning("could not read import progress %s", key, exc_info=True)
        return None


def import_progress(*, job: ImportJob) -> dict[str, Any]:
    """Where a job is: ``status``, ``phase`` (checking / writing, while it runs),
    ``processed`` and ``total`` rows of that phase, ``percent``, ``finished``.

    While it runs the figures come from the cache (the runner's transaction hides them
    from the row); once it is over, from the row.
    """
    processed, total, phase = job.processed_rows, job.total_rows, None
    if job.status not in FINISHED:
        published = _cache_get(progress_key(job.pk))
        if published:
            processed = published.get("processed", processed)
            total = published.get("total", total)
            phase = published.get("phase")
    percent = min(100, round(100 * processed / total)) if total else 0
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": phase,
        "phase_label": str(PHASE_LABELS[phase]) if phase in PHASE_LABELS else "",
        "processed": processed,
        "total": total,
        "percent": percent,
        "finished": job.status in FINISHED,
    }


class ImportProgress:
    """Publishes a running job's figures every PROGRESS_EVERY rows."""

    def __init__(self, job: ImportJob) -> None:
        self.key = progress_key(job.pk)
        self.total = job.total_rows
        self.phase = CHECKING
        self.processed = 0
        self.checked = 0

    def start(self, phase: str) -> None:
        self.phase, self.processed = phase, 0
        self.publish()

    def step(self, count: int = 1) -> None:
        before = self.processed
        self.processed += count
        if self.phase == CHECKING:
            self.checked = self.processed
        if self.processed // PROGRESS_EVERY != before // PROGRESS_EVERY or (
            self.processed == self.total
        ):
            self.publish()

    def publish(self, *, timeout: int = PROGRESS_TIMEOUT) -> None:
        figures = {"phase": self.phase, "processed": self.processed, "total": self.total}
        _cache_set(self.key, figures, timeout)
