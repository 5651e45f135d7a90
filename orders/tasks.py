"""Orders' background work. Periodic tasks are scheduled in settings
(CELERY_BEAT_SCHEDULE); each one is idempotent and safe to run twice."""

from celery import shared_task


@shared_task(name="orders.customer_figures_refresh", time_limit=900, soft_time_limit=840)
def customer_figures_refresh_task(customer_ids: list[int] | None = None) -> int:
    """Recompute customers' order figures, channel behaviour and RFM segments (all
    customers when ``customer_ids`` is None): three set-based statements."""
    from orders.customer_view import customer_figures_refresh

    return customer_figures_refresh(customer_ids=customer_ids)


def carts_prune(*, now=None) -> int:
    """Delete the carts that never became an order (open but expired, or merged into
    another) and were last changed more than ``CART_KEEP_DAYS`` ago, with their lines
    and events, in batches (``unicommerce.retention``). A checked-out cart stays: its
    order points at it. Returns how many carts went."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Exists, OuterRef, Q
    from django.utils import timezone

    from orders.models import Cart, Order
    from unicommerce.retention import rows_prune

    now = now or timezone.now()
    before = now - timedelta(days=int(settings.CART_KEEP_DAYS))
    old = (
        Cart.objects.filter(updated_at__lt=before)
        .filter(
            Q(status=Cart.Status.MERGED)
            | Q(status=Cart.Status.OPEN) & (Q(expires_at__isnull=True) | Q(expires_at__lt=now))
        )
        .filter(~Exists(Order.objects.filter(cart=OuterRef("pk"))))
    )
    return rows_prune(old)


@shared_task(name="orders.carts_prune", time_limit=900, soft_time_limit=870)
def carts_prune_task() -> int:
    """Beat, nightly: carts that never became an order, past ``CART_KEEP_DAYS``."""
    return carts_prune()
