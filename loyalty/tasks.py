"""Loyalty's background work. Periodic tasks are scheduled in settings
(CELERY_BEAT_SCHEDULE); each one is idempotent and safe to run twice."""

from celery import shared_task


@shared_task(name="loyalty.gift_cards_expire", time_limit=900, soft_time_limit=870)
def gift_cards_expire_task() -> int:
    """Beat, nightly: what is left on gift cards past their expiry is written off
    (an ``expire`` row per card, ``loyalty.services.gift_cards.gift_cards_expire``)."""
    from loyalty.services.gift_cards import gift_cards_expire

    return gift_cards_expire()
