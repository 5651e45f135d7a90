"""Orders' business operations, one module per area. The POS, the API and the admin call
these; none of them writes models itself.

- ``carts``: cart pricing, lines, tokens, identification and merging, cart events
- ``checkout``: turning a cart into an order (reserve, price, create, hand over to payment)
- ``fulfilment``: pick, pack, ship, click & collect, cancellation, edits
- ``returns``: returns on any channel
"""

from orders.services.carts import (
    CartPricing,
    CartView,
    LineView,
    PricedLine,
    cart_create,
    cart_get,
    cart_identify,
    cart_line_add,
    cart_line_fulfilment_set,
    cart_line_remove,
    cart_line_set_quantity,
    cart_merge,
    cart_open,
    cart_open_for_customer,
    cart_price,
    cart_view,
)
from orders.services.checkout import LineChoice, order_checkout, order_place_taken_now

__all__ = [
    "CartPricing",
    "CartView",
    "LineChoice",
    "LineView",
    "PricedLine",
    "cart_create",
    "cart_get",
    "cart_identify",
    "cart_line_add",
    "cart_line_fulfilment_set",
    "cart_line_remove",
    "cart_line_set_quantity",
    "cart_merge",
    "cart_open",
    "cart_open_for_customer",
    "cart_price",
    "cart_view",
    "order_checkout",
    "order_place_taken_now",
]
