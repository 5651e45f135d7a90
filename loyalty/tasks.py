"""Loyalty's background work (beat, CELERY_BEAT_SCHEDULE): idempotent, safe to run twice."""

from celery import shared_task


@shared_task(name="loyalty.points_expire", time_limit=1800, soft_time_limit=1770)
def points_expire_task() -> int:
    """Beat, nightly: points past their validity (``loyalty.services.points``)."""
    from loyalty.services.points import points_expire

    return points_expire()


@shared_task(name="loyalty.gift_cards_expire", time_limit=900, soft_time_limit=870)
def gift_cards_expire_task() -> int:
    """Beat, nightly: what is left on gift cards past their expiry is written off
    (an ``expire`` row per card, ``loyalty.services.gift_cards.gift_cards_expire``)."""
    from loyalty.services.gift_cards import gift_cards_expire

    return gift_cards_expire()
