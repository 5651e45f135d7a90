"""How long orders' side keeps what it no longer needs (carts that never became an
order); the beat job is ``orders.tasks.carts_prune_task``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from orders.models import Cart, Order
from unicommerce.retention import rows_prune


def carts_prune(*, now=None) -> int:
    """Delete the carts that never became an order (open but expired, or merged into
    another) and were last changed more than ``CART_KEEP_DAYS`` ago, with their lines
    and events, in batches (``unicommerce.retention``). A checked-out cart stays: its
    order points at it. Returns how many carts went."""
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
