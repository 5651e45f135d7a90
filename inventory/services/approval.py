"""A manager's approval typed on someone else's till: their username and password, checked
on the server, for one permission at one store.

Used for selling an item the books say is not here (issue 12) and, later, for manual
discounts above the seller's cap (issue 14). The password is checked by Django's
authentication, with django-axes in front of it, so failures count towards the very
same lock-out as the manager's log-ins (``AXES_FAILURE_LIMIT`` per username and address)
and a locked-out manager cannot approve either; every attempt also counts against the
seller's ``manager_approval_per_caller`` rate limit, so a till cannot try many usernames.
Nobody is logged in or out: the seller's session is left as it is.

Why a password rather than a PIN: no second secret to issue, store, rotate and lock out;
a manager already has a password, and its lock-out and rate limits exist.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _

from inventory.exceptions import ApprovalLockedOut, ApprovalRefused
from inventory.models import Location
from inventory.selectors import staff_acts_at
from unicommerce.ratelimit import caller_id, rate_limit_hit


def manager_approval(*, username: str, password: str, permission: str, location: Location, request):
    """The member of staff who approves, on the till of ``request.user``: an active
    user whose password this is, who holds ``permission`` and acts at ``location`` (its
    staff, or head office), and who is not the person asking. ``ApprovalRefused`` (403)
    says which of these failed (a wrong username and a wrong password alike);
    ``ApprovalLockedOut`` (429) after too many wrong passwords; ``RateLimited`` (429)
    when the till has tried too often."""
    username = (username or "").strip()
    if not username or not password:
        raise ApprovalRefused(_("The manager types their username and password."))
    seller = request.user
    rate_limit_hit("manager_approval_per_caller", caller_id(seller))
    approver = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        # Said here, inline; axes' middleware would otherwise answer with a log-in page.
        request.axes_locked_out = False
        raise ApprovalLockedOut()
    if approver is None:
        raise ApprovalRefused(_("Wrong username or password."))
    if approver.pk == seller.pk:
        raise ApprovalRefused(_("You cannot approve your own sale: ask a manager."))
    if not approver.has_perm(permission) or not staff_acts_at(approver, location.pk):
        raise ApprovalRefused(
            _("%(name)s may not approve this at %(store)s.")
            % {"name": approver.get_username(), "store": location.name}
        )
    return approver
