"""The only place orders take row locks."""

from orders.models import Cart


def cart_lock(cart_id: int) -> Cart:
    """Lock a cart for checkout, so the same cart is never turned into two orders."""
    return Cart.objects.select_for_update().get(pk=cart_id)
