"""What the OpenAPI schema says of every operation, beyond what its view documents.

Some answers come from the layers in front of a view, the same for every operation:
a request with a NUL character, or a body or header that cannot be read, is a 400
(unicommerce/api/middleware.py, Django); an address whose id is out of range or malformed
matches no pattern and is the catch-all's 404 (unicommerce/converters.py). A view cannot
know of them, so this drf-spectacular post-processing hook documents them once.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BAD_REQUEST = "The request cannot be read: a NUL character, a malformed body or parameter."
NOT_FOUND = "Nothing at this address (an unknown or malformed id in the path)."


def _error(description: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}


def document_common_errors(result: dict, generator, request, public) -> dict:
    """``POSTPROCESSING_HOOKS``: a 400 on every operation, a 404 on every operation whose
    address has parameters; what a view documents itself is kept."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result  # no operation uses the error shape: nothing to refer to
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", _error(BAD_REQUEST))
            if "{" in path:
                responses.setdefault("404", _error(NOT_FOUND))
    return result
