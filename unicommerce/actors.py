"""Who did it: the staff user to record beside a change, from whatever called a service.

Services take ``user`` from every face: a logged-in staff user (admin, POS, staff API),
an anonymous user, ``None`` (tasks, beat), or an API principal that is not a database
user (a channel key, a customer token). Rows that name the person who acted
(``created_by``, ``actor``…) keep only a real staff user.
"""

from __future__ import annotations

from typing import Any


def acting_user(user: Any) -> Any | None:
    """``user`` when it is an authenticated database user acting as staff; None for
    anonymous callers, API keys and customer tokens."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "pk", None) is None or getattr(user, "channel", None) is not None:
        return None
    if getattr(user, "customer", None) is not None:
        return None
    return user
