"""One JSON error shape for the whole API:

    {"error": {"code": "insufficient_stock", "message": "…", "details": {…} | null}}

``code`` is stable and meant for programs; ``message`` is for people.

The answers Django gives before or around a view (no such address, a CSRF refusal, a
request it cannot read, a crash) take the same shape for ``/api/`` addresses: the
handlers below are named in ``unicommerce/urls.py`` and ``CSRF_FAILURE_VIEW``, and keep
Django's own pages everywhere else.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
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
        response.data = error_body("invalid", _("The request is not valid."), details)
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


API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


# Any method: an unknown address is a 404 whatever the method, and no CSRF token can
# make one exist (without the exemption a POST would get Django's CSRF page instead).
@csrf_exempt
def json_not_found(request, exception=None) -> JsonResponse:
    return json_error(404, "not_found", _("No API endpoint at this address."))


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs) -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the API's error shape under ``/api/``, Django's page elsewhere."""
    if not is_api_request(request):
        return csrf.csrf_failure(request, reason=reason, **kwargs)
    return json_error(
        403,
        "csrf_failed",
        _("CSRF check failed: a signed-in session must send its CSRF token."),
        {"reason": reason},
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: a request Django refused to read (a body too large, a bad host…)."""
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    return json_error(400, "bad_request", _("The request cannot be read."))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler403``."""
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return json_error(403, "permission_denied", _("You do not have permission to do this."))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: addresses under ``/api/`` that no API version answers."""
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return json_not_found(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the crash is logged by Django; the caller gets the error shape."""
    if not is_api_request(request):
        return defaults.server_error(request)
    return json_error(500, "server_error", _("Something went wrong on our side."))


class ErrorSerializer(serializers.Serializer):
    """For the OpenAPI schema: what every error response looks like."""

    class ErrorBody(serializers.Serializer):
        code = serializers.CharField(help_text="Stable, machine-readable error code.")
        message = serializers.CharField(help_text="Human-readable explanation.")
        details = serializers.JSONField(allow_null=True, help_text="Per-field or per-line data.")

    error = ErrorBody()


def error_responses(defaults: dict[int, str], **extra: str) -> dict:
    """The OpenAPI responses of an endpoint's refusals, all in the one error shape:
    ``defaults`` (status → description), with ``extra`` ({"409": "…"}) adding statuses
    or replacing a default's description."""
    from drf_spectacular.utils import OpenApiResponse

    described = {**defaults, **{int(status): text for status, text in extra.items()}}
    return {
        status: OpenApiResponse(ErrorSerializer, description=text)
        for status, text in described.items()
    }


def refusals(
    *,
    forbidden: str,
    invalid: str | None = None,
    not_found: str | None = None,
    conflict: str | None = None,
    retried: bool = False,
) -> dict:
    """``error_responses`` of an endpoint called by staff: 400 when it reads input
    (``invalid``), 401, 403 (``forbidden``), 404, 409, and 422 when it takes an
    Idempotency-Key (``retried``)."""
    if retried:
        invalid = " ".join(
            filter(None, [invalid, "An Idempotency-Key longer than 255 characters."])
        )
    described = {400: invalid, 401: "Missing or invalid credentials.", 403: forbidden}
    described |= {404: not_found, 409: conflict}
    if retried:
        described[422] = "The Idempotency-Key was already used for a different request."
    return error_responses({status: text for status, text in described.items() if text})
