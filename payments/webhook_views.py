"""Provider webhooks: ``POST /payments/webhooks/<gateway>/`` (mounted at /payments/).

A plain Django view (providers do not speak our API's auth): it hands the raw body and
the headers to ``provider_event_process``, which verifies the signature, deduplicates by
event id and applies the event. 200 when processed, duplicate, unmatched or ignored (the
provider must not retry); 400 with the API's error shape for a bad signature or body.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.operations import provider_event_process
from unicommerce.exceptions import DomainError


def _error(exc: DomainError) -> JsonResponse:
    # The shape of unicommerce/api/errors.py, without importing the API (a domain app).
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details or None}}
    return JsonResponse(body, status=exc.http_status)


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, gateway: str) -> JsonResponse:
    try:
        outcome = provider_event_process(
            gateway=gateway, body=request.body, headers=request.headers
        )
    except DomainError as exc:
        return _error(exc)
    return JsonResponse({"result": outcome.result, "event_id": outcome.event.event_id})
