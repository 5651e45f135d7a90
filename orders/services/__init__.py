"""Orders' business operations, one module per area. The POS, the API and the admin call
these; none of them writes models itself.

- ``carts``: cart pricing, lines, tokens, identification and merging, cart events
- ``checkout``: turning a cart into an order (reserve, price, create, hand over to payment)
- ``fulfilment``: pick, pack, ship, click & collect, cancellation, edits
- ``returns``: returns on any channel
"""

from orders.services.carts import (
    CartPricing,
    PricedLine,
    cart_create,
    cart_line_add,
    cart_line_set_quantity,
    cart_price,
)
from orders.services.checkout import order_place_taken_now

__all__ = [
    "CartPricing",
    "PricedLine",
    "cart_create",
    "cart_line_add",
    "cart_line_set_quantity",
    "cart_price",
    "order_place_taken_now",
]
