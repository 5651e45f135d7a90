"""The only place orders take row locks. Order of locks, for every writer: the cart,
then the order, then stock rows (inventory's own order)."""

from orders.exceptions import OrderLineNotFound
from orders.models import Cart, Order, OrderLine, Shipment


def cart_lock(cart_id: int) -> Cart:
    """Lock a cart for checkout, so the same cart is never turned into two orders."""
    return Cart.objects.select_for_update().get(pk=cart_id)


def order_lock(order_id: int) -> Order:
    """Lock an order while its lines, shipments or returns change."""
    return Order.objects.select_for_update().get(pk=order_id)


def shipment_lock(shipment: Shipment) -> tuple[Order, Shipment]:
    """Lock the shipment's order, then re-read the shipment (its writers all hold the
    order's lock, so what we read now stays true until commit)."""
    order = order_lock(shipment.order_id)
    return order, Shipment.objects.select_related("location").get(pk=shipment.pk)


def order_line_lock(line: OrderLine) -> tuple[Order, OrderLine]:
    """Lock the line's order, then re-read the line with its shipment, location and
    reservation (``OrderLineNotFound`` if it is gone)."""
    order = order_lock(line.order_id)
    fresh = (
        OrderLine.objects.select_related("shipment", "location", "reservation")
        .filter(pk=line.pk)
        .first()
    )
    if fresh is None:
        raise OrderLineNotFound(line.pk)
    fresh.order = order
    return order, fresh
