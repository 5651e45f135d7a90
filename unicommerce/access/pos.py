"""The permission table's rate limits for POS actions, counted inside the action's own
error handling so the seller reads the refusal inline (a ``RateLimited`` is a
``DomainError`` like any other)."""

from __future__ import annotations

from unicommerce.access.limits import request_limits_count


def pos_limits_count(request) -> None:
    rule = getattr(request, "access_rule", None)
    if rule is not None:
        request_limits_count(request, rule)
