"""Requests carrying a NUL character, refused at the door.

PostgreSQL text cannot hold a NUL (``\\x00``): one in a path, a query string, a header, a
form field or a JSON string that reaches a query fails deep inside with a DataError,
a 500. No screen and no API operation has a use for one, so every request carrying one
is refused here, before sessions, authentication or a view read it: a 400 in the API's
error shape under ``/api/``, a plain 400 elsewhere. One check for every entry point, so
no view has to remember it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _

from unicommerce.api.errors import is_api_request, json_error

NUL = "\x00"
# In JSON a NUL is a raw byte (invalid, but a parser may be lenient) or the escape
# \u0000: an odd run of backslashes before "u0000" (an even run is escaped backslashes).
JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
FORM_NUL = re.compile(rb"\x00|%00")
JSON_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def has_nul(request: HttpRequest) -> bool:
    meta = request.META
    query = meta.get("QUERY_STRING", "")
    return (
        NUL in request.path_info
        or NUL in query
        or "%00" in query
        or any(
            NUL in value
            for key, value in meta.items()
            if key.startswith("HTTP_") and isinstance(value, str)
        )
        or _body_has_nul(request)
    )


# Bodies these views read themselves, capped and strictly parsed (provider webhooks:
# payments/api/webhooks.py answers a NUL or an oversized body in its own error shape).
OWN_BODY_PREFIXES = ("/payments/webhooks/",)


def _body_has_nul(request: HttpRequest) -> bool:
    if request.path_info.startswith(OWN_BODY_PREFIXES):
        return False
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        if request.method != "POST":  # only the API parses these (and takes no files)
            return NUL.encode() in request.body
        fields = request.POST.lists()
        files = request.FILES.lists()
        return any(
            NUL in name or any(NUL in value for value in values) for name, values in fields
        ) or any(
            NUL in name or any(NUL in (upload.name or "") for upload in uploads)
            for name, uploads in files
        )
    if content_type == "application/x-www-form-urlencoded":
        return FORM_NUL.search(request.body) is not None
    if JSON_TYPES.match(content_type):
        return JSON_NUL.search(request.body) is not None
    return False


class RejectNulMiddleware:
    """Placed before the session and authentication middleware, which read the cookie
    and the Authorization header from the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            message = _("The request contains a NUL character, which is never valid here.")
            if is_api_request(request):
                return json_error(400, "null_characters_not_allowed", message)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
