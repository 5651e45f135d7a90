"""Checkout's part in discounts: a code that gives nothing stops the checkout (the customer
saw it refused on the cart), and the codes that did apply are used, their limits checked
under lock, in the order's transaction (``loyalty.services.vouchers.vouchers_use``): of two
buyers of a code's last use, one order is placed and the other checkout rolls back with
``voucher_exhausted``. Cancelling the order gives the uses back
(``orders.services.cancellation``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty.models import VoucherCode
from loyalty.services.vouchers import vouchers_use
from orders.models import Order
from orders.pricing.carts import CartPricing

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def vouchers_refused_check(pricing: CartPricing) -> None:
    """The refusal (``loyalty.exceptions.VoucherRefused``) of the first code on the cart
    that gives nothing."""
    for voucher in pricing.vouchers:
        if voucher.refusal is not None:
            raise voucher.refusal


def checkout_vouchers_use(
    pricing: CartPricing, *, order: Order, actor: AbstractBaseUser | None
) -> None:
    uses = [
        (
            VoucherCode(
                pk=voucher.voucher_id, code=voucher.code, promotion_id=voucher.promotion_id
            ),
            voucher.amount,
        )
        for voucher in pricing.vouchers
    ]
    vouchers_use(
        uses=uses,
        customer=order.customer if order.customer_id else None,
        reference=order.reference,
        user=actor,
    )
