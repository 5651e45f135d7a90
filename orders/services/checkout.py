"""Checkout: one service turns a cart into an order, whatever the channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from inventory.models import Location
from inventory.services import stock_sell
from orders.exceptions import EmptyCart
from orders.locks import cart_lock
from orders.models import Cart, CartEvent, Order, OrderLine, Shipment
from orders.services.carts import _open, cart_price
from orders.states import order_event_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@transaction.atomic
def order_place_taken_now(
    *, cart: Cart, location: Location, user: AbstractBaseUser | None = None
) -> Order:
    """Turn a cart into a fulfilled order whose goods leave ``location`` now (a till sale).

    The cart is locked first, so a double click or a retry cannot create two orders, and
    stock is taken by conditional updates, so the last unit is never sold twice.
    """
    cart = cart_lock(cart.pk)
    _open(cart)
    pricing = cart_price(cart=cart)
    if not pricing.lines:
        raise EmptyCart()
    order = Order.objects.create(
        channel=cart.channel,
        customer=cart.customer,
        cart=cart,
        status=Order.Status.FULFILLED,
        currency=pricing.currency,
        total_amount=pricing.total_amount,
        created_by=user if user and user.is_authenticated else None,
    )
    now = timezone.now()
    shipment = Shipment.objects.create(
        order=order,
        kind=OrderLine.Fulfilment.TAKEN_NOW,
        location=location,
        status=Shipment.Status.TAKEN,
        collected_at=now,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant=p.line.variant,
            sku=p.line.variant.sku,
            name=str(p.line.variant.product.name + " " + p.line.variant.label).strip(),
            quantity=p.line.quantity,
            unit_price_amount=p.unit_price_amount,
            vat_rate=p.vat_rate,
            total_amount=p.total_amount,
            fulfilment=OrderLine.Fulfilment.TAKEN_NOW,
            location=location,
            status=OrderLine.Status.FULFILLED,
            shipment=shipment,
        )
        for p in pricing.lines
    )
    stock_sell(
        location_id=location.pk,
        lines=[(p.line.variant_id, p.line.quantity) for p in pricing.lines],
        user=user,
        source=order,
    )
    order_event_record(
        order=order,
        kind="placed",
        channel=cart.channel,
        actor=user,
        to_status=order.status,
        data={"fulfilment": [OrderLine.Fulfilment.TAKEN_NOW]},
    )
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=now)
    cart.status, cart.checked_out_at = Cart.Status.CHECKED_OUT, now
    CartEvent.objects.create(cart=cart, kind=CartEvent.Kind.CHECKED_OUT, channel=cart.channel)
    return order
