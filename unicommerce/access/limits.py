"""Count a request against the limits of its rule (``Rule.limits``)."""

from __future__ import annotations

from unicommerce.access.principals import ANONYMOUS, CUSTOMER, STOREFRONT, principal_of
from unicommerce.access.table import Rule
from unicommerce.ratelimit import caller_id, client_ip, rate_limit_hit

# Per-address limits count the callers that may be anyone's browser. A secret key's
# calls come from its channel's servers (one address for all its customers) and staff
# are people we know: counting them by address would only stop real work.
BY_ADDRESS = frozenset({ANONYMOUS, STOREFRONT, CUSTOMER})


def request_limits_count(request, rule: Rule) -> None:
    """Raise ``RateLimited`` (429) when one of the rule's limits is used up."""
    if not rule.limits:
        return
    user = request.user
    principal = principal_of(user)
    for limit in rule.limits:
        for per in limit.per:
            if per == "ip":
                if principal in BY_ADDRESS:
                    rate_limit_hit(f"{limit.name}_per_ip", client_ip(request))
            elif per == "key":
                api_key = getattr(user, "api_key", None)
                if api_key is not None and principal != "staff":
                    rate_limit_hit(f"{limit.name}_per_key", api_key.pk)
            elif per == "caller":
                rate_limit_hit(f"{limit.name}_per_caller", caller_id(user))
