"""The base of every typed domain error.

Services raise subclasses carrying data; the REST API maps them to one JSON error shape
(unicommerce.api.errors) and the POS re-renders its partial with ``message``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule said no. Nothing was changed."""

    code = "domain_error"
    http_status = 409

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details or None}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 400


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class Forbidden(DomainError):
    """The caller may not do this (the operation exists; this caller, or this object
    for this caller, is out of bounds)."""

    code = "forbidden"
    http_status = 403


class InPersonOnly(Forbidden):
    """Something only done at a store's till, by its staff: cash, the card terminal,
    stock taken off the shelf, a refund in store credit. ``reason`` names what."""

    code = "in_person_only"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
