"""The permission table for every view that is not the REST API's (the POS, the pay
page, provider webhooks, health, language): checked before the view runs. The REST API's
views check it themselves (``unicommerce.access.drf``), after DRF has read the key or
the customer token; the admin keeps Django's own permissions (and its store scoping,
``inventory.admin.scoping``)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRefresh

from unicommerce.access.limits import request_limits_count
from unicommerce.access.principals import ANONYMOUS, principal_of
from unicommerce.access.table import operation_of, rule_for
from unicommerce.ratelimit import RateLimited

# Views whose POSTs are named actions (``action=…``): each action is its own operation.
ACTION_VIEWS = frozenset(
    {"pos:sell", "pos:returns", "pos:payment", "pos:counter", "pos:receipt", "pos:register"}
)
# Their rate limits are counted by the view itself, inside its own error handling, so
# that the seller reads the refusal inline (``unicommerce.access.pos``).
VIEW_COUNTS_LIMITS = frozenset({"pos"})


def request_operation(request) -> str:
    match = request.resolver_match
    action = ""
    if match.view_name in ACTION_VIEWS and request.method == "POST":
        action = request.POST.get("action", "")
    return operation_of(match.view_name, request.method, action)


class AccessMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or "admin" in match.namespaces or hasattr(view_func, "cls"):
            return None  # the admin's own permissions; DRF views ask the table themselves
        rule = rule_for(request_operation(request))
        request.access_rule = rule
        if rule is not None and rule.allows(request.user):
            if match.namespace not in VIEW_COUNTS_LIMITS:
                try:
                    request_limits_count(request, rule)
                except RateLimited as limited:
                    response = HttpResponse(limited.message, status=429)
                    response["Retry-After"] = str(limited.retry_after)
                    return response
            return None
        if principal_of(request.user) == ANONYMOUS and match.namespace == "pos":
            if request.headers.get("HX-Request"):
                return HttpResponseClientRefresh()
            return redirect_to_login(request.get_full_path())
        if rule is None and match.view_name in ACTION_VIEWS and request.method == "POST":
            return HttpResponse(_("Unknown action."), status=400)
        if rule is None:
            return HttpResponse(_("This page is not open to anyone."), status=403)
        return HttpResponse(_("Your account is not allowed to do this."), status=403)
