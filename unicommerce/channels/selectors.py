"""Reads of sales channels."""

from __future__ import annotations

from unicommerce.channels.models import SalesChannel


def channel_list() -> list[SalesChannel]:
    return list(SalesChannel.objects.filter(is_active=True).order_by("code"))
