"""What the orders API's OpenAPI schema says of refusals: every error answer has the one
JSON error shape (``unicommerce.api.errors``), with a description per status."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from unicommerce.api.errors import ErrorSerializer


def error_responses(defaults: dict[int, str], **extra: str) -> dict[int, OpenApiResponse]:
    """``defaults`` (status → description), with ``extra`` ({"409": "…"}) adding statuses
    or replacing a default's description."""
    described = {**defaults, **{int(status): text for status, text in extra.items()}}
    return {
        status: OpenApiResponse(ErrorSerializer, description=text)
        for status, text in described.items()
    }
