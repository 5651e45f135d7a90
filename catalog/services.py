"""Catalog operations: channel API keys (products and prices arrive with the catalog issue)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from catalog.models import ChannelApiKey, SalesChannel

KEY_PREFIX = "uck_"


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def channel_api_key_create(*, channel: SalesChannel, name: str) -> tuple[ChannelApiKey, str]:
    """A new key for ``channel``. The raw key is returned once and never stored."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ChannelApiKey.objects.create(
        channel=channel, name=name, prefix=raw_key[:12], key_hash=_hash(raw_key)
    )
    return api_key, raw_key


def channel_api_key_authenticate(*, raw_key: str) -> ChannelApiKey | None:
    """The live key matching ``raw_key`` (with its channel), or None."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    api_key = (
        ChannelApiKey.objects.select_related("channel")
        .filter(key_hash=_hash(raw_key), revoked_at__isnull=True, channel__is_active=True)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: a hot key must not write on every request.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ChannelApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


@transaction.atomic
def channel_api_key_revoke(*, api_key: ChannelApiKey) -> None:
    ChannelApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
