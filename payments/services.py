"""Taking payments. Cash only in the skeleton; the payments issue adds the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from orders.models import Order
from payments.exceptions import InsufficientTender
from payments.models import Payment
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def cash_change(*, due: Decimal, tendered: Decimal, currency: str) -> Decimal:
    """The change to hand back, or InsufficientTender when the cash does not cover it."""
    due = money_round(due, currency)
    tendered = money_round(tendered, currency)
    if tendered < due:
        raise InsufficientTender(due=due, tendered=tendered, currency=currency)
    return tendered - due


@transaction.atomic
def payment_take_cash(
    *, order: Order, tendered: Decimal, user: AbstractBaseUser | None = None
) -> Payment:
    """Record cash covering the whole order, with the change given back."""
    change = cash_change(due=order.total_amount, tendered=tendered, currency=order.currency)
    return Payment.objects.create(
        order=order,
        method=Payment.Method.CASH,
        status=Payment.Status.CAPTURED,
        amount=order.total_amount,
        currency=order.currency,
        tendered_amount=money_round(tendered, order.currency),
        change_amount=change,
        created_by=user if user and user.is_authenticated else None,
    )
