"""API keys: created and shown once, stored hashed, revoked, and checked on every API
call (``api_key_authenticate``, with a short per-process cache)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache, partial
from time import monotonic
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from unicommerce.channels.models import ApiKey, SalesChannel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KEY_PREFIX = "uck_"

# Live keys this process has looked up lately: key hash -> (monotonic expiry, row of
# ``_api_key_row``). Per process, not shared (see ``api_key_authenticate``).
_API_KEY_CACHE: dict[str, tuple[float, tuple]] = {}
API_KEY_CACHE_MAX_ENTRIES = 1000


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# What follows KEY_PREFIX says the kind, so a key pasted into a browser bundle or a log
# can be recognised at a glance (``uck_pk_`` may be public, ``uck_sk_`` never).
KIND_PREFIX = {ApiKey.Kind.PUBLISHABLE: "pk_", ApiKey.Kind.SECRET: "sk_"}


def api_key_create(
    *,
    name: str,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    kind: str = ApiKey.Kind.SECRET,
) -> tuple[ApiKey, str]:
    """A new key acting as ``channel`` (publishable or secret) or as ``user`` (always
    secret). The raw key is returned once."""
    if user is not None:
        kind = ApiKey.Kind.SECRET
    raw_key = KEY_PREFIX + KIND_PREFIX[ApiKey.Kind(kind)] + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        channel=channel,
        user=user,
        name=name,
        kind=kind,
        prefix=raw_key[:15],
        key_hash=api_key_hash(raw_key),
    )
    return api_key, raw_key


@cache
def _api_key_columns() -> tuple[list[str], list[str], list[str]]:
    """The columns read for a key: all of the key's (its id first), its channel's, its user's."""
    user_model = get_user_model()
    return (
        [f.attname for f in ApiKey._meta.concrete_fields],
        [f.attname for f in SalesChannel._meta.concrete_fields],
        [f.attname for f in user_model._meta.concrete_fields],
    )


def _api_key_row(key_hash: str) -> tuple | None:
    """The live key's row with its channel's or its user's columns, or None; stamps
    ``last_used_at`` at most once a minute (a hot key must not write on every request)."""
    user_model = get_user_model()
    key_columns, channel_columns, user_columns = _api_key_columns()
    selected = ", ".join(
        [f"k.{column}" for column in key_columns]
        + [f"c.{column}" for column in channel_columns]
        + [f"u.{column}" for column in user_columns]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {selected}
              FROM {ApiKey._meta.db_table} k
              LEFT JOIN {SalesChannel._meta.db_table} c ON c.id = k.channel_id
              LEFT JOIN {user_model._meta.db_table} u ON u.id = k.user_id
             WHERE k.key_hash = %s AND k.revoked_at IS NULL
            """,  # noqa: S608 - table and column names come from the models
            [key_hash],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    key = dict(zip(key_columns, row, strict=False))
    now = timezone.now()
    if key["last_used_at"] is None or (now - key["last_used_at"]).total_seconds() > 60:
        ApiKey.objects.filter(pk=key["id"]).update(last_used_at=now)
    return row


def _api_key_from_row(row: tuple) -> ApiKey | None:
    """Fresh model instances for one request (never shared between requests), or None
    when the key's channel or user is inactive."""
    key_columns, channel_columns, user_columns = _api_key_columns()
    key_end, channel_end = len(key_columns), len(key_columns) + len(channel_columns)
    api_key = ApiKey.from_db("default", key_columns, row[:key_end])
    if api_key.channel_id is not None:
        channel = SalesChannel.from_db("default", channel_columns, row[key_end:channel_end])
        if not channel.is_active:
            return None
        api_key.channel = channel
    else:
        user = get_user_model().from_db("default", user_columns, row[channel_end:])
        if not user.is_active:
            return None
        api_key.user = user
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The live key matching ``raw_key`` (with its channel, or its user), or None.

    Every API call goes through here. A key found live is remembered by this process
    for ``settings.API_KEY_CACHE_SECONDS`` (0 turns it off), so a front end's calls do
    not each read it again. The price: revoking a key, deactivating its channel or user,
    or deleting it takes effect in the other web processes within that many seconds
    (``api_key_revoke`` forgets it at once in its own process), and ``last_used_at`` is
    stamped at most once a minute plus that delay. Unknown keys are never remembered.
    """
    if not raw_key.startswith(KEY_PREFIX):
        return None
    key_hash = api_key_hash(raw_key)
    entry = _API_KEY_CACHE.get(key_hash)
    now = monotonic()
    if entry is not None and entry[0] > now:
        return _api_key_from_row(entry[1])
    row = _api_key_row(key_hash)
    if row is None:
        _API_KEY_CACHE.pop(key_hash, None)
        return None
    api_key = _api_key_from_row(row)
    seconds = settings.API_KEY_CACHE_SECONDS
    if api_key is not None and seconds > 0:
        if len(_API_KEY_CACHE) >= API_KEY_CACHE_MAX_ENTRIES:
            _api_key_cache_prune(now)
        _API_KEY_CACHE[key_hash] = (now + seconds, row)
    return api_key


def _api_key_cache_prune(now: float) -> None:
    for key_hash, (expires_at, _row) in _API_KEY_CACHE.copy().items():
        if expires_at <= now:
            _API_KEY_CACHE.pop(key_hash, None)
    if len(_API_KEY_CACHE) >= API_KEY_CACHE_MAX_ENTRIES:
        _API_KEY_CACHE.clear()


def api_key_forget(*, api_key_id: int) -> None:
    """Drop a key from this process's cache of authenticated keys."""
    for key_hash, (_expires_at, row) in _API_KEY_CACHE.copy().items():
        if row[0] == api_key_id:
            _API_KEY_CACHE.pop(key_hash, None)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke a key. This process forgets it now and again at commit (a request that
    read the key meanwhile may have cached it again); other processes stop accepting it
    within ``settings.API_KEY_CACHE_SECONDS``."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key_forget(api_key_id=api_key.pk)
    transaction.on_commit(partial(api_key_forget, api_key_id=api_key.pk))
