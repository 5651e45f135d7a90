"""Who a cart belongs to: identifying its customer, and finding a customer's cart.

A customer gives an email or a phone (``cart_identify``): found or created by
``customers.services.customer_identify``, the cart is attached to them and, when they are
who they say (signed in, or seen by a seller), merged into their open cart. The till finds
a customer's cart, or opens one for them (``cart_open_for_customer``).
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import transaction

from customers.models import Customer
from customers.services.identity import customer_identify
from orders.exceptions import CartForeign, CartNotFound
from orders.models import Cart
from orders.selectors import cart_open_of_customer
from orders.services.carts import (
    cart_create,
    cart_customer_attach,
    cart_merge,
    cart_open,
    cart_writable_check,
)
from unicommerce.channels.models import SalesChannel


def cart_identify(
    *,
    cart: Cart,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    channel: SalesChannel | None = None,
    verified: bool = False,
) -> Cart:
    """The customer gives an email and/or a phone: find or create them
    (``customers.services.customer_identify``) and attach the cart to them.

    ``verified`` (the customer's own signed-in token, or a seller at the till who sees
    them): missing details are filled in on the customer, and if they already have an
    open cart this one merges into it (quantities add up, fulfilment choices are kept)
    and that cart — the one that survives — is returned.

    Unverified (a storefront, where anyone may type anyone's phone): the cart is only
    attached, so that the store finds it when the customer comes in. An existing
    customer's details are not touched, their carts are neither merged nor revealed, and
    the caller gets this same cart back whether or not the customer existed."""
    cart_writable_check(cart)
    customer, created = customer_identify(
        email=email,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        channel=channel,
        verified=verified,
    )
    if cart.customer_id == customer.pk:
        return cart
    if cart.customer_id is not None:
        raise CartForeign()
    existing = None
    if verified and not created:
        existing = cart_open_of_customer(customer.pk, exclude=cart.pk)
    # Without a cart to merge into, the one statement of the attach is atomic on its own.
    with transaction.atomic() if existing else nullcontext():
        cart_customer_attach(
            cart=cart,
            customer=customer,
            channel=channel,
            data={"customer_id": customer.pk, "created": created, "verified": verified},
        )
        if existing is None:
            return cart
        return cart_merge(source=cart, target=existing, channel=channel)


@transaction.atomic
def cart_open_for_customer(*, customer: Customer, channel: SalesChannel | None = None) -> Cart:
    """The customer's open cart (the most recent), or a new one owned by them on
    ``channel``: what the POS shows after finding the customer."""
    cart = cart_open_of_customer(customer.pk)
    if cart is None:
        if channel is None:
            raise CartNotFound()
        return cart_create(channel=channel, customer=customer)
    cart.customer = customer
    if channel is not None:
        cart_open(cart=cart, channel=channel)
    return cart
