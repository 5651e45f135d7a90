"""One JSON error shape for the whole API:

    {"error": {"code": "insufficient_stock", "message": "…", "details": {…} | null}}

``code`` is stable and meant for programs; ``message`` is for people.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from unicommerce.exceptions import DomainError


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details or None), exc.http_status)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request is not valid.", details)
    elif isinstance(exc, exceptions.Throttled):
        # The same code as a service's RateLimited; Retry-After is already a header.
        wait = max(int(exc.wait or 1), 1)
        response.data = error_body(
            "rate_limited",
            str(exc.detail),
            {"limit": getattr(exc, "limit", ""), "retry_after": wait},
        )
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(code, str(exc.detail))
    return response


def json_not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No API endpoint at this address."), status=404)


class ErrorSerializer(serializers.Serializer):
    """For the OpenAPI schema: what every error response looks like."""

    class ErrorBody(serializers.Serializer):
        code = serializers.CharField(help_text="Stable, machine-readable error code.")
        message = serializers.CharField(help_text="Human-readable explanation.")
        details = serializers.JSONField(allow_null=True, help_text="Per-field or per-line data.")

    error = ErrorBody()
