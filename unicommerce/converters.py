"""Whole numbers from outside (addresses, query strings, form fields), read strictly.

``str.isdigit()`` is true for "²" and "١٢", which ``int()`` then refuses or reads as 12,
and ``int()`` takes any length, past what a PostgreSQL ``bigint`` column holds. Text is a
number here only when it is ASCII digits, within bounds.

``<id:pk>`` in a URL pattern is a database id: 1 to 2⁶³−1 in ASCII digits. An address
with anything else does not match the pattern (a 404, the API's JSON one under
``/api/``) instead of reaching a query that overflows. Django does not let the built-in
``int`` converter be replaced, so API url modules use this one by name.
"""

from __future__ import annotations

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1
_BIGINT_DIGITS = len(str(BIGINT_MAX))


def whole_number(text: str, *, minimum: int = 0, maximum: int = BIGINT_MAX) -> int | None:
    """``text`` as an int when it is ASCII digits only (no sign, no blank, no "²" or
    "١") between ``minimum`` and ``maximum``; None for anything else."""
    if not (text.isascii() and text.isdecimal()) or len(text) > _BIGINT_DIGITS:
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


class IdConverter:
    """``<id:name>``: a database id, 1 to 2⁶³−1."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = whole_number(value, minimum=1)
        if number is None:
            raise ValueError(value)  # the pattern does not match: a 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

# drf-spectacular describes a path parameter ``<id:…>`` with this schema (wired in
# SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"]).
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}


def count_or_none(value: object, *, zero_allowed: bool = False) -> int | None:
    """``value`` when it is a true ``int`` (not a bool) above zero, or zero when
    ``zero_allowed``; None for anything else. Services raise their own error on None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if value < 0 or (value == 0 and not zero_allowed):
        return None
    return value
