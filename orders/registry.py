"""Orders' strategies that a setting or a caller chooses, all registered here, once, from
``OrdersConfig.ready()`` (nothing registers at import time):

- **payment methods** (``orders.payment_methods``): how a customer chose to pay at
  checkout. Orders registers the two paid later, "pay in store" and "pay later"; other
  apps register theirs from their own ``AppConfig.ready()`` with
  ``payment_method_register`` (payments: cash, the card terminal, the payment link), and
  say whether an order's payment is under way with ``payment_in_flight_register``.
- **orchestration strategies** (``orders.orchestration``): which locations ship which
  lines, the one ``ORDER_ORCHESTRATION_STRATEGY`` names. Orders registers
  ``strategy_default`` under its dotted path, the setting's default.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from orders.conf import DEFAULT_STRATEGY
from orders.orchestration import orchestration_strategy_register, strategy_default
from orders.payment_methods import payment_awaiting_handoff, payment_method_register


def orders_strategies_register() -> None:
    """Register orders' own payment methods and orchestration strategy (registering
    again replaces them with the same)."""
    payment_method_register("pay_in_store", gettext_lazy("Pay in store"), payment_awaiting_handoff)
    payment_method_register("pay_later", gettext_lazy("Pay later"), payment_awaiting_handoff)
    orchestration_strategy_register(DEFAULT_STRATEGY, strategy_default)
