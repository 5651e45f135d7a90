"""Customers' background work (beat, CELERY_BEAT_SCHEDULE): idempotent, safe to run twice."""

from celery import shared_task


@shared_task(name="customers.login_codes_prune", time_limit=600, soft_time_limit=570)
def login_codes_prune_task() -> int:
    """Beat, nightly: sign-in codes and access tokens past ``LOGIN_CODE_KEEP_DAYS``."""
    from customers.services.gdpr import login_codes_prune

    return login_codes_prune()
