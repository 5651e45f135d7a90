"""The till's operations. Each is one transaction across orders and payments, through
the same services the API uses (one checkout for every channel)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from orders.models import Cart, Order
from orders.services.carts import cart_get, cart_open, cart_price
from orders.services.checkout import order_checkout
from payments.models import Payment
from payments.services import TenderMissing, cash_change
from pos.models import Register

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CASH = "cash"


@dataclass(frozen=True)
class SaleResult:
    order: Order
    payment: Payment | None  # None: the order waits for its payment (pay in store)
    change_amount: Decimal | None


def cart_open_at_register(*, register: Register, token: str) -> Cart:
    """The cart with this token (typed, or read from the QR code the customer's phone
    shows), opened at this register: the very same cart, filled on any channel, with an
    "opened" event when it comes from another channel. A store's register may open its
    channel's carts and any customer's cart; an anonymous cart of another channel, an
    expired or unknown one is refused (``cart_foreign`` / ``cart_expired`` /
    ``cart_not_found``)."""
    cart = cart_get(token=token.strip(), channel=register.channel)
    return cart_open(cart=cart, channel=register.channel)


@transaction.atomic
def sale_complete(
    *,
    register: Register,
    cart: Cart,
    payment_method: str,
    seller: AbstractBaseUser,
    tendered: Decimal | None = None,
    shipping_address: dict[str, Any] | None = None,
) -> SaleResult:
    """Check the cart out at this register through the one checkout (orders'
    ``order_checkout``): lines taken now leave the store's stock, lines collected
    elsewhere or shipped home are reserved where they will come from, and the order goes
    to the payment method: cash (``tendered``: the payment is recorded with the change)
    or pay in store later. All of it or nothing."""
    if payment_method == CASH:
        if tendered is None:
            raise TenderMissing()
        # The seller learns that the cash is short before anything else is checked.
        pricing = cart_price(cart=cart, channel=register.channel)
        cash_change(due=pricing.total_amount, tendered=tendered, currency=pricing.currency)
    order = order_checkout(
        cart=cart,
        channel=register.channel,
        payment_method=payment_method,
        payment_params={"tendered": tendered} if payment_method == CASH else None,
        till_location=register.location,
        shipping_address=shipping_address,
        user=seller,
    )
    payment = None
    if payment_method == CASH:  # recorded by the "cash" method's hand-over, in checkout
        payment = Payment.objects.filter(order=order, method=Payment.Method.CASH).latest("id")
    return SaleResult(
        order=order, payment=payment, change_amount=payment.change_amount if payment else None
    )


def sale_complete_cash(
    *, register: Register, cart: Cart, tendered: Decimal, seller: AbstractBaseUser
) -> SaleResult:
    """Sell the cart at this register for cash (see ``sale_complete``)."""
    return sale_complete(
        register=register, cart=cart, payment_method=CASH, tendered=tendered, seller=seller
    )
