"""The kinds of caller, and which one a request is.

- ``anonymous``: nobody signed in, no key (the pay page, provider webhooks, log-in pages);
- ``storefront``: a channel's *publishable* key — it ships inside a browser or an app,
  so anyone may hold it;
- ``integration``: a channel's *secret* key — the channel's own back end;
- ``customer``: a signed-in customer (``Authorization: Customer <token>``), their own
  data only;
- ``staff``: a Django user (a POS or admin session, or a staff member's API key), with
  their Django permissions and their locations (``inventory.selectors.staff_location_ids``).
  The staff *roles* (seller, store manager, warehouse, head office) are groups of
  permissions: ``unicommerce.access.roles``.
"""

from __future__ import annotations

ANONYMOUS = "anonymous"
STOREFRONT = "storefront"
INTEGRATION = "integration"
CUSTOMER = "customer"
STAFF = "staff"
PRINCIPALS = (ANONYMOUS, STOREFRONT, INTEGRATION, CUSTOMER, STAFF)
CHANNEL_KEYS = frozenset({STOREFRONT, INTEGRATION})


def principal_of(user) -> str:
    """The kind of caller ``user`` (``request.user``) is. A channel's key and a
    customer's token say it themselves (``.principal``); any other signed-in,
    active user is staff."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    declared = getattr(user, "principal", None)
    if declared is not None:
        return declared
    return STAFF if getattr(user, "is_active", False) else ANONYMOUS
