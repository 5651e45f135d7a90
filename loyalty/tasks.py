"""Loyalty's background work (beat, CELERY_BEAT_SCHEDULE): idempotent, safe to run twice."""

from celery import shared_task


@shared_task(name="loyalty.points_expire", time_limit=1800, soft_time_limit=1770)
def points_expire_task() -> int:
    """Beat, nightly: points past their validity (``loyalty.services.points``)."""
    from loyalty.services.points import points_expire

    return points_expire()
