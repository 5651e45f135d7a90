"""What the OpenAPI schema says of every operation, beyond what its view documents.

Some answers come from the layers in front of a view, the same for every operation:
a request with a NUL character, or a body or header that cannot be read, is a 400
(unicommerce/api/middleware.py, Django); a body in a media type the operation does not
read, or a multipart body that cannot be read as one, is DRF's 415; an address whose id
is out of range or malformed matches no pattern and is the catch-all's 404
(unicommerce/converters.py). Others come from the permission table
(unicommerce/access/table.py), which every API view asks before it runs: a caller it does
not let in is refused (403), and an operation with rate limits answers 429 with
Retry-After once one is used up. A view cannot know of them, so this drf-spectacular
post-processing hook documents them once, reading the table itself: an operation is
``"<URL name> <METHOD>"``, its URL name found by resolving the schema's path.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import Resolver404, resolve

from unicommerce.access.principals import ANONYMOUS
from unicommerce.access.table import Rule, operation_of, rule_for

ERROR_REF = {"$ref": "#/components/schemas/Error"}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BAD_REQUEST = "The request cannot be read: a NUL character, a malformed body or parameter."
NOT_FOUND = "Nothing at this address (an unknown or malformed id in the path)."
FORBIDDEN = "Your API key or account is not allowed to do this (the permission table)."
UNSUPPORTED = "The body is in a media type this operation does not read, or is malformed."
RATE_LIMITED = (
    "Too many requests from this address, key or account (`rate_limited`): try again "
    "after Retry-After seconds."
)
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}
PARAMETER = re.compile(r"\{[^/{}]+\}")


def _error(description: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}


def _rule(path: str, method: str) -> Rule | None:
    """The table's rule for this schema path and method (a sample "1" for each path
    parameter: every API path parameter is an ``<id:…>`` or a ``<str:…>``)."""
    try:
        match = resolve(PARAMETER.sub("1", path))
    except Resolver404:
        return None
    return rule_for(operation_of(match.view_name, method.upper()))


def _document_rule(responses: dict[str, Any], rule: Rule) -> None:
    if ANONYMOUS not in rule.callers:
        responses.setdefault("403", _error(FORBIDDEN))
    if rule.limits:
        responses.setdefault("429", _error(RATE_LIMITED))


def document_common_errors(result: dict, generator, request, public) -> dict:
    """``POSTPROCESSING_HOOKS``: a 400 on every operation, a 415 on every operation that
    takes a body, a 404 on every operation whose address has parameters, a 403 on every
    operation the table does not open to anyone, a 429 (with Retry-After) on every
    operation the table gives rate limits, and Retry-After on every 429; what a view
    documents itself is kept."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result  # no operation uses the error shape: nothing to refer to
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", _error(BAD_REQUEST))
            if "requestBody" in operation:
                responses.setdefault("415", _error(UNSUPPORTED))
            if "{" in path:
                responses.setdefault("404", _error(NOT_FOUND))
            rule = _rule(path, method)
            if rule is not None:
                _document_rule(responses, rule)
            if "429" in responses:  # the table's limits or a service's: the same answer
                headers = responses["429"].setdefault("headers", {})
                headers.setdefault("Retry-After", RETRY_AFTER)
    return result
