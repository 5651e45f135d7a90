"""The till's operations: each is one transaction across orders and payments."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from orders.models import Cart, Order
from orders.services import cart_price, order_place_taken_now
from payments.models import Payment
from payments.services import cash_change, payment_take_cash
from pos.models import Register

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class SaleResult:
    order: Order
    payment: Payment
    change_amount: Decimal


@transaction.atomic
def sale_complete_cash(
    *, register: Register, cart: Cart, tendered: Decimal, seller: AbstractBaseUser
) -> SaleResult:
    """Sell the cart at this register for cash: stock out of the store, order completed,
    payment recorded, change computed. All of it or nothing."""
    pricing = cart_price(cart=cart)
    cash_change(due=pricing.total_amount, tendered=tendered, currency=pricing.currency)
    order = order_place_taken_now(cart=cart, location=register.location, user=seller)
    payment = payment_take_cash(order=order, tendered=tendered, user=seller)
    return SaleResult(order=order, payment=payment, change_amount=payment.change_amount)
