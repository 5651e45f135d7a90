"""Who may call what. A channel key acts as its channel (no Django permissions); a staff
key or session acts as the user, with their Django permissions."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def channel_of(request):
    """The sales channel a request acts for (a channel key), or None for staff."""
    return getattr(request.user, "channel", None)


def staff_with(*perms: str, allow_channels: bool = False) -> type[BasePermission]:
    """Staff holding every one of ``perms`` (and, optionally, channel keys)."""

    class StaffWith(BasePermission):
        message = "Your API key or account is not allowed to do this."

        def has_permission(self, request, view) -> bool:
            if not request.user or not request.user.is_authenticated:
                return False
            if getattr(request.user, "customer", None) is not None:
                return False  # a customer's token is never staff, nor a channel key
            if channel_of(request) is not None:
                return allow_channels
            return all(request.user.has_perm(perm) for perm in perms)

    StaffWith.__name__ = f"StaffWith_{'_'.join(p.replace('.', '_') for p in perms)}"
    return StaffWith


def acting_user(request):
    """The staff user behind a request (for "who did it" in the ledger), or None when a
    channel's key is calling."""
    return None if channel_of(request) is not None else request.user
