"""Cross-cutting views: health, the icon."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer, 503 otherwise. Anyone (a load balancer,
    an uptime probe) gets the status only; a signed-in staff member also gets each
    service's state and the error, which names hosts, ports and accounts."""
    checks = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            checks[name] = check()
        except Exception as error:  # report any failure, never raise from a health check
            checks[name] = f"error: {type(error).__name__}: {error}"[:200]
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    if _is_staff(request):
        body.update(checks)
    return JsonResponse(body, status=200 if healthy else 503)


@cache_control(max_age=86400, public=True)
@require_safe
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """``/favicon.ico``, which browsers and bookmarks ask for whatever the page links: the
    icon in the static files (served with a long cache by WhiteNoise)."""
    return HttpResponsePermanentRedirect(static("brand/favicon.ico"))
