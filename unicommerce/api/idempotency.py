"""``Idempotency-Key`` for state-changing API calls a client may retry.

Same key, same request: the first answer again, and the work done once. Same key with
another request: 422. Two calls with one key at the same time: the second waits for the
first to commit (the unique index makes it), then gets its answer.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from unicommerce.api.errors import error_body
from unicommerce.api.models import IdempotencyRecord
from unicommerce.retention import rows_prune

HEADER = "Idempotency-Key"
PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID): retrying with the same key returns the first "
    "answer without doing the work twice.",
)


def _owner(request) -> str:
    user = request.user
    customer = getattr(user, "customer", None)
    if customer is not None:  # a customer's token: their own keys, not their channel's
        return f"customer:{customer.pk}"
    if getattr(user, "channel", None) is not None:
        return f"channel:{user.channel.pk}"
    return f"user:{user.pk}"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(view_method):
    """Wrap an APIView method (post/put/patch/delete) so it honours Idempotency-Key."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return Response(
                error_body("invalid", _("The Idempotency-Key is longer than 255 characters.")),
                400,
            )
        owner, fingerprint = _owner(request), _fingerprint(request)
        with transaction.atomic():
            table = IdempotencyRecord._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    INSERT INTO {table} (owner, key, method, path, request_hash, created_at)
                    VALUES (%s, %s, %s, %s, %s, now())
                    ON CONFLICT (owner, key) DO NOTHING
                    RETURNING id
                    """,  # noqa: S608 - the table name comes from the model
                    [owner, key, request.method, request.path[:255], fingerprint],
                )
                inserted = cursor.fetchone()
            if inserted is None:
                record = IdempotencyRecord.objects.get(owner=owner, key=key)
                if record.request_hash != fingerprint:
                    return Response(
                        error_body(
                            "idempotency_key_reused",
                            _("This Idempotency-Key was used for a different request."),
                        ),
                        422,
                    )
                response = Response(record.response_body, record.status_code)
                response["Idempotent-Replayed"] = "true"
                return response
            response = view_method(self, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.filter(pk=inserted[0]).update(
                    status_code=response.status_code, response_body=response.data
                )
            else:
                # Failures are not remembered: the client may fix the cause and retry.
                transaction.set_rollback(True)
            return response

    return wrapper


# --- Privacy: erasure and retention ------------------------------------------------------

ERASED_STATUS = 410


def idempotency_records_erase(*, customer_ids: list[int], identity) -> int:
    """GDPR erasure, the API's part: the kept answers of the customers' own calls, and of
    any call whose answer names them (a channel's checkout answers the order with its
    contact details), are replaced by a 410 ``idempotent_answer_erased``. The row stays,
    so the key is still used: a late retry is answered, never done twice. ``identity``
    is customers' ``ErasedIdentity``. Returns the rows changed."""
    table = IdempotencyRecord._meta.db_table
    owners = [f"customer:{pk}" for pk in customer_ids]
    patterns = identity.ilike_any() if identity is not None else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET status_code = %s, response_body = %s::jsonb
             WHERE status_code IS NOT NULL
               AND (owner = ANY(%s::text[]) OR response_body::text ILIKE ANY(%s::text[]))
            """,  # noqa: S608 - the table name comes from the model
            [
                ERASED_STATUS,
                json.dumps(
                    error_body(
                        "idempotent_answer_erased",
                        "The answer to this request was erased with the customer's data.",
                    )
                ),
                owners,
                patterns,
            ],
        )
        return cursor.rowcount


def idempotency_records_prune(*, now=None) -> int:
    """Delete records older than ``IDEMPOTENCY_KEEP_DAYS``, in batches
    (``unicommerce.retention``). A client retries within minutes or hours; after that
    the key is free again. Returns how many rows went."""
    now = now or timezone.now()
    before = now - timedelta(days=int(settings.IDEMPOTENCY_KEEP_DAYS))
    return rows_prune(IdempotencyRecord.objects.filter(created_at__lt=before))


@shared_task(name="api.idempotency_records_prune", time_limit=600, soft_time_limit=570)
def idempotency_records_prune_task() -> int:
    """Beat, daily: Idempotency-Key records past their retention."""
    return idempotency_records_prune()
