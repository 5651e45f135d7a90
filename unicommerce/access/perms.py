"""A member of staff's Django permissions, remembered by each process for a few seconds.

Every POS request asks the permission table, and the till's live screens poll every
second: reading the user's and their groups' permissions each time would double the
cost of a poll (two queries on top of the session, the user and the fingerprint). As
with API keys (``API_KEY_CACHE_SECONDS``), a process trusts what it read for
``ACCESS_PERMISSION_CACHE_SECONDS`` (0: never); a permission taken away reaches the
other processes within that delay. A deactivated user is refused at once: Django's
session authentication reloads the user on every request.
"""

from __future__ import annotations

from time import monotonic

from django.conf import settings

_CACHE: dict[int, tuple[float, frozenset[str]]] = {}
_MAX_ENTRIES = 2000


def staff_has_perms(user, perms: tuple[str, ...]) -> bool:
    if not perms:
        return True
    if not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return set(perms) <= _all_perms(user)


def _all_perms(user) -> frozenset[str]:
    seconds = getattr(settings, "ACCESS_PERMISSION_CACHE_SECONDS", 5.0)
    now = monotonic()
    entry = _CACHE.get(user.pk)
    if entry is not None and entry[0] > now:
        return entry[1]
    perms = frozenset(user.get_all_permissions())
    if seconds > 0:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[user.pk] = (now + seconds, perms)
    return perms


def staff_perms_forget(user_id: int | None = None) -> None:
    """Forget what this process remembers (of one user, or of everyone)."""
    if user_id is None:
        _CACHE.clear()
    else:
        _CACHE.pop(user_id, None)
