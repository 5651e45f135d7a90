"""Checkout: ONE service turns a cart into an order, whatever the channel (API or POS).

``order_checkout`` locks the cart, prices it, decides how each line is fulfilled, checks
that every line can be had (all short lines are reported together, nothing changed),
then takes the stock: lines taken now are sold at the till, click & collect lines are
reserved at their store, shipped lines at the locations orchestration chose
(``orders.orchestration``). Goods never leave unpaid: when the order is not paid right
there (the till's cash, or the caller taking payment in the same transaction), its
taken-now lines are reserved at the till instead, and handed over once the order is paid
in full (``orders.services.fulfilment.order_paid_hand_over``, called by whichever payment
makes it paid), or given back by the unpaid-order expiry. Stock rows are always
touched in (variant, location) order, so concurrent checkouts never deadlock, and by
conditional statements, so the last unit is never sold twice. It ends by handing the
order over to the chosen payment method (``orders.payment_methods``).

This module is the orchestration; the steps live beside it: ``checkout_plan`` (how each
line is fulfilled, from where), ``checkout_stock`` (selling and reserving) and
``checkout_persistence`` (the order, its shipments and lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.emails import email_normalised
from customers.phones import phone_e164
from inventory.models import Location
from inventory.selectors import staff_acts_at
from orders.exceptions import CheckoutUnavailable, EmptyCart, InvalidFulfilment
from orders.locks import cart_lock
from orders.models import Cart, Fulfilment, Order
from orders.payment_methods import PaymentMethod, payment_method_get
from orders.pricing.carts import CartPricing, cart_price
from orders.services.carts import cart_writable_check
from orders.services.checkout_discounts import checkout_vouchers_use, vouchers_refused_check
from orders.services.checkout_persistence import (
    checkout_lines_create,
    checkout_order_insert,
    checkout_shipments_create,
)
from orders.services.checkout_plan import (
    LineChoice,
    StockTake,
    checkout_destination,
    checkout_lines_resolve,
    checkout_locations,
    checkout_plan,
    checkout_stock_rows,
    shipping_address_clean,
)
from orders.services.checkout_stock import (
    CheckoutRaceLost,
    checkout_stock_take,
    unbooked_unpaid_refuse,
)
from unicommerce.actors import acting_user
from unicommerce.channels.models import SalesChannel
from unicommerce.exceptions import InPersonOnly

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class _Request:
    """What the caller of ``order_checkout`` asked for, checked once: every attempt
    works from it."""

    cart: Cart  # as the caller loaded it (with its channel, maybe its customer)
    channel: SalesChannel
    method: PaymentMethod | None
    email: str
    phone: str
    till_location: Location | None
    shipping_address: Mapping[str, Any] | None
    line_choices: Mapping[int, LineChoice] | None
    default_choice: LineChoice | None
    actor: AbstractBaseUser | None
    payment_params: Mapping[str, Any]


def order_checkout(
    *,
    cart: Cart,
    channel: SalesChannel,
    payment_method: str | None,
    till_location: Location | None = None,
    contact_email: str = "",
    contact_phone: str = "",
    shipping_address: Mapping[str, Any] | None = None,
    line_choices: Mapping[int, LineChoice] | None = None,
    default_choice: LineChoice | None = None,
    user: Any = None,
    payment_params: Mapping[str, Any] | None = None,
) -> Order:
    """Turn ``cart`` into an order placed on ``channel`` (where checkout happens; the
    cart may have been filled elsewhere), and hand it over to ``payment_method``.

    Each line's fulfilment: ``line_choices[line_id]``, else ``default_choice``, else the
    cart line's, else the channel's usual way (taken now at ``till_location`` in a
    store, shipped otherwise). A shipped line needs ``shipping_address``. ``payment_method``
    None means the caller takes payment itself in the same transaction (the till).

    All or nothing: every short line is listed in one ``CheckoutUnavailable`` (409), bad
    choices are ``InvalidFulfilment`` (400), an unknown method ``UnknownPaymentMethod``
    (400), and nothing has changed. ``payment_params`` go to the method's hand-over
    (e.g. the cash tendered at the till); what the hand-over returns (the cash payment it
    recorded) is the returned order's ``payment_handoff`` (None without a method).
    """
    actor = acting_user(user)
    request = _Request(
        cart=cart,
        channel=channel,
        method=payment_method_get(payment_method, channel=channel) if payment_method else None,
        email=email_normalised(contact_email) if contact_email else "",
        phone=phone_e164(contact_phone) if contact_phone else "",
        till_location=till_location,
        shipping_address=shipping_address,
        line_choices=line_choices,
        default_choice=default_choice,
        actor=actor,
        payment_params=dict(payment_params or {}),
    )
    _till_check(till_location)
    _in_person_check(user=actor, till_location=till_location, method=request.method)
    # A reservation that loses a race to another checkout rolls this attempt back; the
    # next attempt re-reads the stock and plans again (another location may have it).
    for number in range(1, RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                order = _attempt(request)
        except CheckoutRaceLost as lost:
            if number == RACE_ATTEMPTS:
                raise CheckoutUnavailable(lost.lines) from None
        else:
            cart.status, cart.checked_out_at = order.cart.status, order.cart.checked_out_at
            return order
    raise AssertionError("unreachable")


def _till_check(till_location: Location | None) -> None:
    if till_location is not None and (
        till_location.kind != Location.Kind.STORE or not till_location.is_active
    ):
        raise InvalidFulfilment(
            _("%(location)s is not an open store.") % {"location": till_location.name},
            location=till_location.code,
        )


def _in_person_check(*, user, till_location: Location | None, method) -> None:
    """A till (``till_location``: goods taken off its shelves now, taken-now lines) and
    in-person methods (cash) are for that store's staff at its till: never for a
    channel's key or a customer, whatever they send."""
    if method is not None and method.in_person and till_location is None:
        raise InPersonOnly(
            _("%(method)s is taken at a store's till.") % {"method": method.label},
            reason="payment_method",
        )
    if till_location is None:
        return
    if user is None or not user.has_perm("pos.sell") or not staff_acts_at(user, till_location.pk):
        raise InPersonOnly(
            _("Only the staff of %(store)s sell from its shelves, at its till.")
            % {"store": till_location.name},
            reason="till_location",
        )


def _attempt(request: _Request) -> Order:
    """One attempt, in the caller's transaction: lock and price the cart, resolve and
    plan its lines, then create the order (``_order_create``)."""
    cart, origin = _cart_locked(request)
    channel = request.channel
    pricing = cart_price(cart=cart, channel=channel, location=request.till_location, fresh=True)
    if not pricing.lines:
        raise EmptyCart()
    vouchers_refused_check(pricing)
    lines = checkout_lines_resolve(
        pricing.lines,
        channel=channel,
        till_location=request.till_location,
        line_choices=request.line_choices,
        default_choice=request.default_choice,
    )
    ship = any(line.fulfilment == Fulfilment.SHIP for line in lines)
    address = shipping_address_clean(request.shipping_address) if ship else None
    rows = checkout_stock_rows(
        channel=channel,
        variant_ids={line.variant_id for line in lines},
        explicit_ids={line.location.pk for line in lines if line.location is not None},
        ship=any(line.fulfilment == Fulfilment.SHIP and not line.location for line in lines),
    )
    takes = checkout_plan(lines, rows, channel=channel, destination=checkout_destination(address))
    return _order_create(
        request,
        cart=cart,
        origin=origin,
        pricing=pricing,
        takes=takes,
        address=address,
        locations=checkout_locations(lines, rows),
    )


def _cart_locked(request: _Request) -> tuple[Cart, SalesChannel]:
    """The cart, locked and still open, and the channel it was filled on."""
    given = request.cart
    cart = cart_lock(given.pk)
    cart_writable_check(cart)
    # The cart's channel and customer as the caller loaded them (they never change
    # under a lock, except the customer, compared by id): no extra queries.
    origin = request.channel if cart.channel_id == request.channel.pk else given.channel
    if (
        cart.customer_id is not None
        and Cart.customer.is_cached(given)
        and given.customer_id == cart.customer_id
    ):
        cart.customer = given.customer
    return cart, origin


def _order_create(
    request: _Request,
    *,
    cart: Cart,
    origin: SalesChannel,
    pricing: CartPricing,
    takes: list[StockTake],
    address: dict | None,
    locations: dict[int, Location],
) -> Order:
    """The order and its shipments, the stock taken, the order's lines, then the hand-over
    to the payment method. Taken-now lines leave now only when the order is paid now
    (else they are held at the till)."""
    method, channel, actor = request.method, request.channel, request.actor
    now, total_amount = timezone.now(), pricing.total_amount
    hold_taken_now = _paid_later(method, total_amount)
    if hold_taken_now:
        unbooked_unpaid_refuse(takes)
    order = checkout_order_insert(
        cart=cart,
        origin=origin,
        channel=channel,
        total_amount=total_amount,
        discount_amount=pricing.discount_amount,
        takes=takes,
        hold_taken_now=hold_taken_now,
        method_code=method.code if method else "",
        email=request.email,
        phone=request.phone,
        address=address,
        actor=actor,
        now=now,
    )
    if pricing.vouchers:
        checkout_vouchers_use(pricing, order=order, actor=actor)
    shipments = checkout_shipments_create(
        takes, order=order, locations=locations, hold_taken_now=hold_taken_now, now=now
    )
    # Stock last: the hot stock rows stay locked for as little as possible.
    reservations = checkout_stock_take(
        takes, order=order, channel=channel, user=actor, hold_taken_now=hold_taken_now
    )
    checkout_lines_create(
        takes,
        order=order,
        shipments=shipments,
        reservations=reservations,
        locations=locations,
        hold_taken_now=hold_taken_now,
        actor=actor,
    )
    order.channel, order.origin_channel = channel, origin
    order.payment_handoff = None
    if method is not None:
        order.payment_handoff = method.handoff(
            order=order, channel=channel, user=actor, params=dict(request.payment_params)
        )
    return order


def _paid_later(method, total: Decimal) -> bool:
    """Whether the order leaves checkout unpaid: any method but an in-person one (cash at
    the till, settled in checkout's transaction) and the caller's own (``None``: the
    till takes payment in the same transaction). A free order is never unpaid."""
    return method is not None and not method.in_person and total > 0
