"""Orders' admin pages, one module per subject; importing them registers them:

- ``orders``: carts, orders and returns, and the fulfilment actions;
- ``promotions``: promotions and voucher campaigns (loyalty's tables), here because
  their preview prices through ``orders.pricing``, which loyalty may not import.
"""

from orders.admin import promotions  # noqa: F401
from orders.admin.orders import event_description, postal_address

__all__ = ["event_description", "postal_address"]
