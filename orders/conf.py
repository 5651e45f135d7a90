"""Orders' settings, each read from Django settings with a default (no settings file
needs to name them):

- ``CART_TTL_DAYS`` (30): a cart not written to for this many days expires; every write
  pushes its ``expires_at`` forward.
- ``ORDER_ORCHESTRATION_STRATEGY`` ("orders.orchestration.strategy_default"): the dotted
  path of the function choosing the locations that ship each line (docs/orchestration.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings

from orders.orchestration import orchestration_strategy_get

DEFAULT_STRATEGY = "orders.orchestration.strategy_default"


def cart_ttl() -> timedelta:
    return timedelta(days=getattr(settings, "CART_TTL_DAYS", 30))


def orchestration_strategy() -> Callable:
    """The strategy the setting names (``orders.orchestration.orchestration_strategy_get``)."""
    return orchestration_strategy_get(
        getattr(settings, "ORDER_ORCHESTRATION_STRATEGY", DEFAULT_STRATEGY)
    )
