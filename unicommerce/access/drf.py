"""The permission table in the REST API: DRF's default permission and throttle classes
(settings ``REST_FRAMEWORK``), so every API view asks the table unless it says
otherwise — and ``tests/access`` checks that none does."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from unicommerce.access.limits import request_limits_count
from unicommerce.access.principals import principal_of
from unicommerce.access.table import operation_of, rule_for


def _rule(request):
    match = request.resolver_match
    name = match.view_name if match is not None else ""
    return rule_for(operation_of(name, request.method))


class TablePermission(BasePermission):
    """Allowed when the table has a rule for this operation that lets this caller in."""

    def has_permission(self, request, view) -> bool:
        if request.method == "OPTIONS":
            return False  # no operation is described by OPTIONS: nothing to discover
        rule = _rule(request)
        if rule is None:
            self.code = "permission_denied"
            self.message = "This operation is not open to any caller."
            return False
        request.access_rule = rule
        if rule.allows(request.user):
            return True
        self.code = "permission_denied"
        self.message = _refusal(principal_of(request.user), rule)
        return False


def _refusal(principal: str, rule) -> str:
    if principal == "staff" and rule.staff is not None:
        return "Your account lacks the permission this needs: " + ", ".join(rule.staff) + "."
    return "Your API key or account is not allowed to do this."


class TableThrottle(BaseThrottle):
    """The rule's rate limits (``RateLimited`` → 429 with Retry-After)."""

    def allow_request(self, request, view) -> bool:
        rule = getattr(request, "access_rule", None) or _rule(request)
        if rule is not None:
            request_limits_count(request, rule)
        return True
