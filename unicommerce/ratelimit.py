"""Rate limits: atomic counters in Redis, kept by the `limits` library.

Anything that costs money per call (an SMS) or can be guessed (a code) is limited, and so
is anything that fills the database for free (carts). A limit has a name and a rate from
``settings.RATE_LIMITS`` ("5/minute", "10/day", "3 per 15 minutes"); the caller says what
it counts by (a phone number, an IP, a channel)::

    rate_limit_hit("sms_per_number", "+33612345678")   # raises RateLimited when over

Why `limits` rather than DRF's throttles alone: DRF keeps a list of timestamps in the
cache and writes it back (get, then set), so concurrent requests can each read the same
list and all pass; `limits` counts with one atomic Redis operation (a sliding-window
counter: two integers per key, whatever the rate). DRF's throttle classes are still the
API's entry point (``unicommerce.access.throttles``): they ask this module.

If Redis does not answer, the limit lets the call through and logs an error: a limit
protects the business, it must not stop it (and without Redis no SMS leaves anyway: the
worker's queue is there too).
"""

from __future__ import annotations

import logging
import math
import time
from functools import cache

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from unicommerce.exceptions import DomainError

logger = logging.getLogger(__name__)


class RateLimited(DomainError):
    """Too many attempts: try again in ``retry_after`` seconds (HTTP 429)."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, *, limit: str, retry_after: int) -> None:
        retry_after = max(int(retry_after), 1)
        minutes = math.ceil(retry_after / 60)
        if retry_after < 60:
            wait = ngettext("%(n)d second", "%(n)d seconds", retry_after) % {"n": retry_after}
        else:
            wait = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        super().__init__(
            _("Too many attempts. Try again in %(wait)s.") % {"wait": wait},
            limit=limit,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@cache
def _limiter(url: str):
    from limits import strategies
    from limits.storage import RedisStorage

    # RedisStorage wants the redis:// scheme; the key prefix keeps our counters apart.
    storage = RedisStorage(
        url, key_prefix="uc-rl", socket_connect_timeout=1, socket_timeout=1, wrap_exceptions=True
    )
    return strategies.SlidingWindowCounterRateLimiter(storage)


@cache
def _parse(rate: str):
    from limits import parse

    return parse(rate)


def _rate(name: str):
    rate = settings.RATE_LIMITS.get(name)
    if rate is None:
        raise KeyError(f"no rate limit named {name!r} in settings.RATE_LIMITS")
    return _parse(rate) if rate else None


def _identifiers(name: str, parts: tuple[object, ...]) -> tuple[str, ...]:
    # The prefix lets a test (or a deployment sharing one Redis) keep its counters apart.
    return (getattr(settings, "RATE_LIMIT_KEY_PREFIX", ""), name, *(str(p) for p in parts))


def rate_limit_hit(name: str, *parts: object, cost: int = 1) -> None:
    """Count ``cost`` hits of limit ``name`` for ``parts``; raise RateLimited (nothing
    counted) when that would go over. An empty rate in the settings turns the limit off."""
    _ask(name, parts, count=True, cost=cost)


def rate_limit_check(name: str, *parts: object) -> None:
    """Raise RateLimited if limit ``name`` is already used up for ``parts``, counting
    nothing (for a check before work whose success alone should count)."""
    _ask(name, parts, count=False)


def _ask(name: str, parts: tuple[object, ...], *, count: bool, cost: int = 1) -> None:
    item = _rate(name)
    if item is None:
        return
    identifiers = _identifiers(name, parts)
    try:
        limiter = _limiter(settings.REDIS_URL)
        allowed = (
            limiter.hit(item, *identifiers, cost=cost)
            if count
            else limiter.test(item, *identifiers)
        )
        if allowed:
            return
        reset_at, _remaining = limiter.get_window_stats(item, *identifiers)
    except Exception:
        logger.exception("rate limit %s not checked: the counter store did not answer", name)
        return
    raise RateLimited(limit=name, retry_after=math.ceil(reset_at - time.time()))


def client_ip(request) -> str:
    """The client's address for per-IP limits: the peer, or with ``TRUSTED_PROXY_COUNT``
    proxies in front, the address the outermost trusted proxy saw (the entry that many
    places from the right of X-Forwarded-For; what a client writes further left is not
    trusted)."""
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if len(forwarded) < proxies:
        return forwarded[0] if forwarded else peer
    return forwarded[-proxies]


def caller_id(user) -> str:
    """A stable name for who calls: an API key, a customer, a member of staff."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.pk}"
    customer = getattr(user, "customer", None)
    if customer is not None:
        return f"customer:{customer.pk}"
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return "anonymous"
