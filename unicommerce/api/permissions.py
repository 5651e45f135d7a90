"""Who a request acts for. Who may call what is the permission table's business
(``unicommerce.access``); these read the caller for the views."""

from __future__ import annotations


def channel_of(request):
    """The sales channel a request acts for (a channel key), or None for staff."""
    return getattr(request.user, "channel", None)


def acting_user(request):
    """The staff user behind a request (for "who did it" in the ledger), or None when a
    channel's key is calling."""
    return None if channel_of(request) is not None else request.user
