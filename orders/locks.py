"""The only place orders take row locks. Order of locks, for every writer: the cart,
then the order, then stock rows (inventory's own order)."""

from orders.models import Cart, Order


def cart_lock(cart_id: int) -> Cart:
    """Lock a cart for checkout, so the same cart is never turned into two orders."""
    return Cart.objects.select_for_update().get(pk=cart_id)


def order_lock(order_id: int) -> Order:
    """Lock an order while its lines, shipments or returns change."""
    return Order.objects.select_for_update().get(pk=order_id)
