"""The till's background work (beat, CELERY_BEAT_SCHEDULE): idempotent, safe to run twice."""

from celery import shared_task


@shared_task(name="pos.fiscal_closings", time_limit=1800, soft_time_limit=1770)
def fiscal_closings_task() -> int:
    """Beat, nightly after midnight (Europe/Paris): yesterday's daily closings of every
    store and of the company, and on the first of a month (of January) last month's
    (last year's) too (``pos.fiscal.closings``)."""
    from django.utils import timezone

    from pos.fiscal.closings import closings_due

    return len(closings_due(timezone.localdate()))
