"""Orders' background work. Periodic tasks are scheduled in settings
(CELERY_BEAT_SCHEDULE); each one is idempotent and safe to run twice."""

from celery import shared_task


@shared_task(name="orders.carts_prune", time_limit=900, soft_time_limit=870)
def carts_prune_task() -> int:
    """Beat, nightly: carts that never became an order, past ``CART_KEEP_DAYS``."""
    from orders.services.retention import carts_prune

    return carts_prune()


@shared_task(name="orders.unpaid_expire", time_limit=300, soft_time_limit=270)
def unpaid_expire_task() -> int:
    """Beat, every minute: unpaid orders past their payment method's delay are cancelled
    and their stock goes back on sale (``orders.services.expiry``)."""
    from orders.services.expiry import orders_unpaid_expire

    return orders_unpaid_expire()
