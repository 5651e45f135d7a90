"""Provider webhooks: ``POST /payments/webhooks/<gateway>/`` (mounted at /payments/).

A plain Django view (providers do not speak our API's auth): it hands the raw body and
the headers to ``provider_event_process``, which verifies the signature, deduplicates by
event id and applies the event. 200 when processed, duplicate, unmatched or ignored (the
provider must not retry); 404 for a gateway that is not configured here; 413 for a body
over ``PAYMENT_WEBHOOK_MAX_BYTES``, refused before it is read further, parsed or stored;
400 for a bad signature or a body that is not an event; all in the API's error shape.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.conf import setting
from payments.gateways import gateway_get
from payments.services.webhooks import provider_event_process
from unicommerce.exceptions import DomainError


def _error(code: str, message: str, details: dict | None, status: int) -> JsonResponse:
    # The shape of unicommerce/api/errors.py, without importing the API (a domain app).
    body = {"error": {"code": code, "message": message, "details": details or None}}
    return JsonResponse(body, status=status)


def _body_read(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes: the declared length is checked
    first, and no more than ``limit + 1`` bytes are ever read (``request.body`` would read
    it all, and answer Django's own 400 past DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, gateway: str) -> JsonResponse:
    try:
        gateway_get(gateway)  # not configured here: 404 before the body is read
        limit = int(setting("PAYMENT_WEBHOOK_MAX_BYTES"))
        body = _body_read(request, limit)
        if body is None:
            return _error(
                "payload_too_large",
                _("The webhook body is too large."),
                {"gateway": gateway, "max_bytes": limit},
                413,
            )
        outcome = provider_event_process(gateway=gateway, body=body, headers=request.headers)
    except DomainError as exc:
        return _error(exc.code, exc.message, exc.details, exc.http_status)
    return JsonResponse({"result": outcome.result, "event_id": outcome.event.event_id})
