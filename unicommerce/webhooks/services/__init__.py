"""Webhook endpoints, and the delivery of events to them.

Publishing (inside the transaction of the change): ``webhooks_publish`` upserts one
pending delivery per subscribed endpoint and key; a newer version of the same key
replaces the content of the pending one (coalescing) and it becomes due one coalescing
window after its first change. After commit a flush of the endpoint is scheduled for
that moment (at most one scheduled flush per endpoint, via a Redis key).

Sending (a Celery task per endpoint, queue ``webhooks``): claim the due deliveries
(``FOR UPDATE SKIP LOCKED``, so two flushes never send the same one), POST each signed,
record the attempt, and on failure retry with exponential back-off and jitter until
``WEBHOOK_MAX_ATTEMPTS``, then dead-letter. An endpoint failing
``WEBHOOK_DISABLE_AFTER_FAILURES`` times in a row is disabled, with an alert; its
pending deliveries stay, coalesced to the latest content, for when it is enabled again.

Nothing here ever runs in the request of a sale: a slow or broken receiver costs a
worker's time, never a customer's, and no more than ``WEBHOOK_DELIVERY_DEADLINE_SECONDS``
per delivery (the HTTP call itself, with its address checks, is ``outbound``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from psycopg.types.json import Jsonb

from unicommerce.exceptions import InvalidInput, InvalidTransition
from unicommerce.webhooks import signing
from unicommerce.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from unicommerce.webhooks.services import outbound

logger = logging.getLogger(__name__)

# Event types a channel may subscribe to, and what they carry (apps add theirs).
EVENT_TYPES: dict[str, str] = {
    "stock.changed": "The sellable quantity of a variant on the channel changed.",
}

_DELIVERY = WebhookDelivery._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table
Status = WebhookDelivery.Status


class WebhookUrlInvalid(InvalidInput):
    code = "webhook_url_invalid"


class UnknownEventType(InvalidInput):
    code = "unknown_event_type"


class TooManyEndpoints(InvalidInput):
    code = "webhook_endpoint_limit"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# --- Endpoints -----------------------------------------------------------------------


def webhook_url_check(url: str) -> str:
    """An http(s) URL with a host, no credentials; private addresses only where allowed."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise WebhookUrlInvalid(_("This is not a valid URL."), url=url) from None
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlInvalid(_("A webhook URL must start with http:// or https://."), url=url)
    if not parts.hostname:
        raise WebhookUrlInvalid(_("A webhook URL must name a host."), url=url)
    if parts.username or parts.password:
        raise WebhookUrlInvalid(_("Put no user name or password in a webhook URL."), url=url)
    if parts.fragment:
        raise WebhookUrlInvalid(_("A webhook URL cannot have a #fragment."), url=url)
    if not _setting("WEBHOOK_ALLOW_PRIVATE_HOSTS", False) and _is_private(parts.hostname):
        raise WebhookUrlInvalid(
            _("A webhook URL must point to a public address, not to this network."), url=url
        )
    return url


def _is_private(host: str) -> bool:
    """A name or address of this machine or network, as written (a name's addresses are
    checked when it is called: see ``outbound``)."""
    if not outbound.host_name_allowed(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name
    return not outbound.address_allowed(host)


def webhook_event_types_check(event_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(event_types))
    if not chosen:
        raise UnknownEventType(_("Choose at least one event type."), known=sorted(EVENT_TYPES))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise UnknownEventType(
            _("Unknown event type: %(names)s.") % {"names": ", ".join(unknown)},
            unknown=unknown,
            known=sorted(EVENT_TYPES),
        )
    return chosen


def endpoint_room_check(*, channel) -> None:
    """A channel has at most ``WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL`` endpoints (each one
    costs a delivery per change: a cap keeps one channel from multiplying our work)."""
    limit = int(_setting("WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL", 10))
    if WebhookEndpoint.objects.filter(channel_id=channel.pk).count() >= limit:
        raise TooManyEndpoints(
            ngettext(
                "A channel can have at most %(limit)d webhook endpoint; delete one first.",
                "A channel can have at most %(limit)d webhook endpoints; delete one first.",
                limit,
            )
            % {"limit": limit},
            limit=limit,
        )


@transaction.atomic
def endpoint_create(
    *, channel, url: str, event_types: Iterable[str], description: str = "", user=None
) -> WebhookEndpoint:
    url = webhook_url_check(url)
    event_types = webhook_event_types_check(event_types)
    with connection.cursor() as cursor:  # two creates for one channel count one at a time
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('webhooks.endpoints'), %s)", [channel.pk]
        )
    endpoint_room_check(channel=channel)
    return WebhookEndpoint.objects.create(
        channel=channel,
        url=url,
        event_types=event_types,
        description=description,
        secret=signing.new_secret(),
        created_by=user,
    )


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = webhook_url_check(url)
    if event_types is not None:
        endpoint.event_types = webhook_event_types_check(event_types)
    if description is not None:
        endpoint.description = description
    endpoint.save(update_fields=["url", "event_types", "description"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and their log (what waited is dropped)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Resume deliveries (what waited meanwhile is sent at once, latest content only)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
    )
    endpoint.refresh_from_db()
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        next_attempt_at=timezone.now()
    )
    transaction.on_commit(partial(flush_schedule, endpoint.pk, time.time()))
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    endpoint.refresh_from_db()
    return endpoint


# --- Publishing ----------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookItem:
    """One thing to tell: its key (what coalesces), its version (what orders) and data."""

    key: str
    version: int
    data: dict[str, Any]


def webhooks_publish(*, channel_id: int, event_type: str, items: Sequence[WebhookItem]) -> int:
    """Queue ``items`` for every endpoint of the channel subscribed to the type.

    Runs in the caller's transaction: the deliveries exist if and only if the change
    committed. A disabled endpoint keeps collecting (one pending delivery per key, the
    latest), so enabling it again brings the channel up to date. Returns how many
    deliveries were created or refreshed.
    """
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(f"unknown event type {event_type}")
    if not items:
        return 0
    window = float(_setting("WEBHOOK_COALESCE_SECONDS", 0.25))
    ordered = sorted(items, key=lambda item: item.key)
    # statement_timestamp(), not now(): the handler's transaction may have begun a while ago.
    with connection.cursor() as cursor:
        # The conflict target names the partial index's predicate literally: a parameter
        # there cannot be matched to the index by the planner.
        cursor.execute(
            f"""
            INSERT INTO {_DELIVERY} AS d (
                endpoint_id, event_id, event_type, key, version, payload, status, attempts,
                coalesced, first_change_at, created_at, updated_at, next_attempt_at,
                last_error)
            SELECT e.id, gen_random_uuid(), %s, i.key, i.version, i.payload, 'pending', 0, 1,
                   ts.now, ts.now, ts.now, ts.now + make_interval(secs => %s), ''
              FROM {_ENDPOINT} e
             CROSS JOIN unnest(%s::text[], %s::bigint[], %s::jsonb[]) AS i(key, version, payload)
             CROSS JOIN (SELECT statement_timestamp() AS now) ts
             WHERE e.channel_id = %s AND %s = ANY(e.event_types)
             ORDER BY e.id, i.key
            ON CONFLICT (endpoint_id, key) WHERE status = 'pending'
            DO UPDATE SET payload = EXCLUDED.payload, version = EXCLUDED.version,
                          event_id = EXCLUDED.event_id, coalesced = d.coalesced + 1,
                          updated_at = statement_timestamp()
                    WHERE d.version < EXCLUDED.version
            RETURNING d.endpoint_id, extract(epoch FROM d.next_attempt_at)
            """,  # noqa: S608 - table names come from the models, values are parameters
            [
                event_type,
                window,
                [item.key for item in ordered],
                [item.version for item in ordered],
                [Jsonb(item.data) for item in ordered],
                channel_id,
                event_type,
            ],
        )
        rows = cursor.fetchall()
    due: dict[int, float] = {}
    for endpoint_id, at in rows:
        due[endpoint_id] = min(due.get(endpoint_id, float(at)), float(at))
    for endpoint_id, at in due.items():
        transaction.on_commit(partial(flush_schedule, endpoint_id, at))
    return len(rows)


def _redis():
    import redis

    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
    return _redis_client


_redis_client = None


def flush_schedule(endpoint_id: int, at: float) -> None:
    """Make sure a flush of the endpoint runs at ``at`` (unix time) or earlier.

    One Redis key per endpoint holds the time of the flush already scheduled; a later
    request is covered by it. If Redis (the broker) is down, the periodic sweep flushes.
    """
    from unicommerce.webhooks.tasks import webhooks_flush

    key = f"webhooks:flush:{endpoint_id}"
    countdown = max(at - time.time(), 0.0)
    ttl_ms = int(countdown * 1000) + 60_000
    try:
        client = _redis()
        if not client.set(key, repr(at), nx=True, px=ttl_ms):
            scheduled = client.get(key)
            if scheduled is not None and float(scheduled) <= at + 0.001:
                return
            client.set(key, repr(at), px=ttl_ms)
        webhooks_flush.apply_async(args=[endpoint_id], countdown=countdown, retry=False)
    except Exception:  # the broker is down: the sweep will flush
        logger.warning("could not schedule the flush of webhook endpoint %s", endpoint_id)


def flush_forget(endpoint_id: int) -> None:
    """A flush starts: changes from now on need a flush of their own."""
    try:
        _redis().delete(f"webhooks:flush:{endpoint_id}")
    except Exception:
        logger.warning("could not reach Redis to clear the flush of endpoint %s", endpoint_id)


# --- Sending -------------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    event_id: uuid.UUID
    event_type: str
    key: str
    version: int
    payload: dict[str, Any]
    attempts: int
    updated_at: datetime


@dataclass
class FlushResult:
    delivered: int = 0
    failed: int = 0
    next_at: float | None = None


def body_for(delivery: Claimed | WebhookDelivery, channel_code: str) -> bytes:
    document = {
        "id": str(delivery.event_id),
        "type": delivery.event_type,
        "created_at": delivery.updated_at.isoformat().replace("+00:00", "Z"),
        "channel": channel_code,
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _claim(endpoint_id: int, limit: int) -> list[Claimed]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_DELIVERY} d
               SET status = 'sending', claimed_at = statement_timestamp(), attempts = d.attempts + 1
              FROM (SELECT id FROM {_DELIVERY}
                     WHERE endpoint_id = %s AND status = 'pending'
                       AND next_attempt_at <= statement_timestamp()
                       -- one delivery of a key in flight at a time: a newer one waits
                       -- until the older is recorded (and then a window more)
                       AND key NOT IN (SELECT key FROM {_DELIVERY}
                                        WHERE endpoint_id = %s AND status = 'sending')
                     ORDER BY next_attempt_at, id
                     LIMIT %s
                       FOR UPDATE SKIP LOCKED) due
             WHERE d.id = due.id
            RETURNING d.id, d.event_id, d.event_type, d.key, d.version, d.payload, d.attempts,
                      d.updated_at
            """,  # noqa: S608 - table names come from the models, values are parameters
            [endpoint_id, endpoint_id, limit],
        )
        rows = cursor.fetchall()
    claimed = [Claimed(*row) for row in rows]
    for item in claimed:
        if isinstance(item.payload, str):
            item.payload = json.loads(item.payload)
    return sorted(claimed, key=lambda item: item.id)


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random."""
    base = float(_setting("WEBHOOK_RETRY_BASE_SECONDS", 2.0))
    ceiling = float(_setting("WEBHOOK_RETRY_MAX_SECONDS", 3600.0))
    delay = min(ceiling, base * 2 ** max(attempt - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not for security


SEND_PARALLEL = 8
# A flush stops claiming after this long and hands over to a new flush task (queued
# behind the other endpoints' flushes): the threads pool enforces no task time limit.
FLUSH_BUDGET_SECONDS = 240.0


def claim_size() -> int:
    """How many deliveries one round claims: as many as the senders finish inside the
    claim timeout even if each takes the whole deadline (else the sweep would hand back
    deliveries that are still being sent)."""
    deadline = max(float(_setting("WEBHOOK_DELIVERY_DEADLINE_SECONDS", 15.0)), 0.001)
    claim_timeout = float(_setting("WEBHOOK_CLAIM_TIMEOUT_SECONDS", 60.0))
    return SEND_PARALLEL * max(1, int(claim_timeout * 0.8 // deadline))


def webhooks_flush(*, endpoint_id: int, limit: int | None = None) -> FlushResult:
    """Send what is due for one endpoint; return when the next flush should run."""
    result = FlushResult()
    endpoint = WebhookEndpoint.objects.select_related("channel").filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.is_active:
        return result
    limit = limit or claim_size()
    budget_ends = time.monotonic() + FLUSH_BUDGET_SECONDS
    while True:
        claimed = _claim(endpoint_id, limit)
        sent: list[WebhookAttempt] = []  # successes, recorded together
        # Distinct keys (one delivery per key in flight): the posts of a chunk go out
        # side by side on the shared connection pool; outcomes are handled in order.
        with ThreadPoolExecutor(max_workers=SEND_PARALLEL) as pool:
            outcomes = list(pool.map(lambda d: _send_one(endpoint, d), claimed))
        for delivery, attempt in zip(claimed, outcomes, strict=True):
            if attempt.error == "":
                sent.append(attempt)
                result.delivered += 1
                continue
            _record_sent(endpoint, sent)
            sent = []
            with transaction.atomic():
                attempt.save()
                _record_failure(
                    endpoint, delivery, status_code=attempt.status_code, error=attempt.error
                )
            result.failed += 1
            endpoint.refresh_from_db(fields=["is_active", "consecutive_failures"])
            if not endpoint.is_active:
                _release_claims(endpoint_id)
                return result
        _record_sent(endpoint, sent)
        if len(claimed) < limit or time.monotonic() >= budget_ends:
            break
    next_at = (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_at is not None:
        result.next_at = next_at.timestamp()
    return result


def _release_claims(endpoint_id: int) -> None:
    """The endpoint was disabled mid-flush: what was claimed goes back to waiting."""
    for delivery in WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.SENDING):
        _requeue(delivery.pk, at=timezone.now(), error="")


def _send_one(endpoint: WebhookEndpoint, delivery: Claimed) -> WebhookAttempt:
    """POST one delivery; the attempt (unsaved) says how it went (``error`` empty: ok)."""
    body = body_for(delivery, endpoint.channel.code)
    headers = {
        "Content-Type": "application/json",
        signing.SIGNATURE_HEADER: signing.signature_header(endpoint.secret, body),
        signing.EVENT_ID_HEADER: str(delivery.event_id),
        signing.EVENT_TYPE_HEADER: delivery.event_type,
        signing.ATTEMPT_HEADER: str(delivery.attempts),
    }
    started = timezone.now()
    clock = time.perf_counter()
    status_code: int | None = None
    error = ""
    excerpt = ""
    try:
        answer = outbound.post(
            endpoint.url,
            content=body,
            headers=headers,
            timeout=float(_setting("WEBHOOK_TIMEOUT_SECONDS", 5.0)),
            deadline=float(_setting("WEBHOOK_DELIVERY_DEADLINE_SECONDS", 15.0)),
            max_bytes=int(_setting("WEBHOOK_MAX_RESPONSE_BYTES", 65536)),
            allow_private=bool(_setting("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)),
        )
    except outbound.DeliveryFailed as failure:  # no answer: timeout, refused, TLS, DNS…
        error = failure.message  # in words for the channel, no internal detail
    else:
        status_code, excerpt = answer.status_code, answer.excerpt
        if not 200 <= status_code < 300:
            error = _("The receiver answered HTTP %(status)s.") % {"status": status_code}
    return WebhookAttempt(
        delivery_id=delivery.id,
        number=delivery.attempts,
        event_id=delivery.event_id,
        version=delivery.version,
        started_at=started,
        duration_ms=int((time.perf_counter() - clock) * 1000),
        status_code=status_code,
        error=error,
        response_excerpt=excerpt,
    )


def _record_sent(endpoint: WebhookEndpoint, attempts: list[WebhookAttempt]) -> None:
    """Successful attempts, in three statements whatever their number (a sender that
    dies before this leaves them "sending": the sweep sends them again, same event id)."""
    if not attempts:
        return
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(attempts)
        for code in {attempt.status_code for attempt in attempts}:
            WebhookDelivery.objects.filter(
                pk__in=[a.delivery_id for a in attempts if a.status_code == code]
            ).update(
                status=Status.DELIVERED,
                delivered_at=now,
                claimed_at=None,
                last_status_code=code,
                last_error="",
            )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=0, last_success_at=now
        )
        # A newer change of a key just sent, queued while it was in flight, waits a whole
        # window from now: never two deliveries of one key inside one window.
        window = timedelta(seconds=float(_setting("WEBHOOK_COALESCE_SECONDS", 0.25)))
        sent_keys = WebhookDelivery.objects.filter(pk__in=[a.delivery_id for a in attempts]).values(
            "key"
        )
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint.pk, status=Status.PENDING, key__in=sent_keys
        ).update(next_attempt_at=Greatest(F("next_attempt_at"), Value(now + window)))


def _record_failure(
    endpoint: WebhookEndpoint, delivery: Claimed, *, status_code: int | None, error: str
) -> None:
    max_attempts = int(_setting("WEBHOOK_MAX_ATTEMPTS", 8))
    WebhookDelivery.objects.filter(pk=delivery.id).update(last_status_code=status_code)
    if status_code == 410:  # Gone: the receiver asks us to stop
        _requeue(delivery.id, at=timezone.now(), error=error)
        _disable_and_alert(
            endpoint, _("The receiver answered 410 Gone: it no longer wants deliveries.")
        )
        return
    if delivery.attempts >= max_attempts:
        WebhookDelivery.objects.filter(pk=delivery.id).update(
            status=Status.DEAD, claimed_at=None, last_error=error
        )
        logger.error(
            "webhook delivery %s to %s dead after %d attempts: %s",
            delivery.event_id,
            endpoint.url,
            delivery.attempts,
            error,
        )
    else:
        at = timezone.now() + timedelta(seconds=backoff_seconds(delivery.attempts))
        _requeue(delivery.id, at=at, error=error)
    failures = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    failures.update(
        consecutive_failures=F("consecutive_failures") + 1,
        last_failure_at=timezone.now(),
    )
    count = failures.values_list("consecutive_failures", flat=True).first() or 0
    if count >= int(_setting("WEBHOOK_DISABLE_AFTER_FAILURES", 20)):
        _disable_and_alert(
            endpoint,
            _("Disabled after %(count)d failed deliveries in a row; last error: %(error)s")
            % {"count": count, "error": error},
        )


def _requeue(delivery_id: int, *, at: datetime, error: str) -> None:
    """Back to waiting, unless a newer update of the same key is already waiting (then
    this stale content is superseded: it would only be dropped by the receiver)."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                status=Status.PENDING, next_attempt_at=at, claimed_at=None, last_error=error
            )
    except IntegrityError:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=Status.SUPERSEDED, claimed_at=None, last_error=error
        )


def _disable_and_alert(endpoint: WebhookEndpoint, reason: str) -> None:
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    if not changed:
        return
    endpoint.is_active = False
    channel = endpoint.channel.code
    message = f"Webhook endpoint {endpoint.url} of channel {channel} disabled: {reason}"
    logger.error(message)
    transaction.on_commit(
        partial(
            mail_admins, f"Webhook endpoint disabled: {endpoint.url}", message, fail_silently=True
        )
    )


# --- Operations ----------------------------------------------------------------------


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivered or dead delivery again, now, with the same event id."""
    if delivery.status not in (Status.DELIVERED, Status.DEAD, Status.SUPERSEDED):
        raise InvalidTransition(
            _("Only a delivered, dead or superseded delivery can be sent again."),
            status=delivery.status,
        )
    try:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=Status.PENDING,
                next_attempt_at=timezone.now(),
                claimed_at=None,
                delivered_at=None,
                last_error="",
            )
    except IntegrityError:
        raise InvalidTransition(
            _("A newer update of the same item is already waiting to be sent."),
            key=delivery.key,
        ) from None
    transaction.on_commit(partial(flush_schedule, delivery.endpoint_id, time.time()))
    delivery.refresh_from_db()
    return delivery


def webhooks_sweep() -> dict[str, int]:
    """The safety net (beat): hand back deliveries whose sender died mid-send, and flush
    every endpoint with something due whose scheduled flush was lost."""
    stale = timezone.now() - timedelta(seconds=float(_setting("WEBHOOK_CLAIM_TIMEOUT_SECONDS", 60)))
    requeued = 0
    for delivery_id in WebhookDelivery.objects.filter(
        status=Status.SENDING, claimed_at__lt=stale
    ).values_list("pk", flat=True):
        _requeue(
            delivery_id,
            at=timezone.now(),
            error=_("The delivery was interrupted on our side; it is sent again."),
        )
        requeued += 1
    endpoints = list(
        WebhookDelivery.objects.filter(
            status=Status.PENDING,
            next_attempt_at__lte=timezone.now(),
            endpoint__is_active=True,
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    from unicommerce.webhooks.tasks import webhooks_flush as flush_task

    for endpoint_id in endpoints:
        flush_task.apply_async(args=[endpoint_id], retry=False)
    return {"requeued": requeued, "flushed": len(endpoints)}


def webhooks_prune(*, older_than: timedelta) -> int:
    """Forget delivered and superseded deliveries (and their log) after a while; dead
    letters stay until someone looks at them."""
    deleted, _ = WebhookDelivery.objects.filter(
        status__in=[Status.DELIVERED, Status.SUPERSEDED],
        updated_at__lt=timezone.now() - older_than,
    ).delete()
    return deleted
