"""Refunds to another method than the payment's own (a card payment given back in cash at
the till, on a standalone card terminal, or as store credit).

``payments.operations.payment_refund`` gives money back to the original payment. Here
the money goes out another way, so it is recorded as its own payment row of that method
(``amount`` 0, nothing captured) carrying one succeeded refund operation: the order's
refunded total (summed from the operations ledger) includes it, and the order's payment
status follows. The refund is checked against what the order still has paid (over all
its payments), and ``payment_refund`` checks the same, so an order is never refunded
twice over whichever way the money goes.

Methods are a small registry: cash and card terminal are built in (the money is handed
over at the till: nothing to call). Store credit is the loyalty app's: until it
registers a handler (from its wiring, e.g. ``pos``/``unicommerce`` start-up, since
payments and loyalty never import each other), a refund to store credit is refused with
``store_credit_unavailable``. A handler is called inside the refund's transaction and
must stay local (a ledger row in the same database), never call out::

    handler(*, order, amount, currency, user, idempotency_key, reason) -> str  # reference
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from orders.locks import order_lock
from orders.models import Order
from payments.exceptions import (
    IdempotencyKeyReused,
    PaymentInProgress,
    RefundExceedsPaid,
    RefundMethodUnsupported,
    StoreCreditUnavailable,
)
from payments.models import Payment, PaymentOperation
from payments.operations import (
    PAYMENT_REFUNDED,
    _amount_check,
    _request_hash,
    order_payment_recompute,
    order_refundable_amount,
    payment_key_lock,
)
from unicommerce.events.services import event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

RefundHandler = Callable[..., str]


@dataclass(frozen=True)
class RefundMethod:
    code: str  # a Payment.Method
    handler: RefundHandler
    gateway: str


_REGISTRY: dict[str, RefundMethod] = {}


def refund_method_register(code: str, handler: RefundHandler, *, gateway: str = "") -> None:
    """Make refunds to ``code`` (a ``Payment.Method``) possible; registering again
    replaces the handler. ``gateway`` is what the refund's payment row names (default
    ``manual`` for in-person methods, else ``code``)."""
    if code not in Payment.Method.values:
        raise ValueError(f"{code!r} is not a payment method")
    in_person = code in (Payment.Method.CASH, Payment.Method.CARD_TERMINAL)
    _REGISTRY[code] = RefundMethod(code, handler, gateway or ("manual" if in_person else code))


def refund_method_unregister(code: str) -> None:
    _REGISTRY.pop(code, None)


def refund_methods() -> list[str]:
    """The methods a refund can go to now."""
    return sorted(_REGISTRY)


def _handed_over(**kwargs) -> str:
    """Cash or a card terminal at the till: the seller hands the money over."""
    return ""


refund_method_register(Payment.Method.CASH, _handed_over)
refund_method_register(Payment.Method.CARD_TERMINAL, _handed_over)


def refund_to_method(
    *,
    order: Order,
    amount: Decimal,
    method: str,
    user: AbstractBaseUser | None,
    idempotency_key: str | None,
    reason: str = "",
) -> PaymentOperation:
    """Give ``amount`` of ``order`` back by ``method`` rather than to the original payment.

    Refuses a method without a handler (``store_credit_unavailable`` for store credit,
    ``refund_method_unsupported`` otherwise), an amount of zero or less, and more than
    the order has paid and not had back (``refund_exceeds_paid``). Returns the succeeded
    refund operation (on a new payment row of ``method``). The same key again answers
    the same operation; with other parameters, ``idempotency_key_reused``.
    """
    method = str(method)
    refund_method = _REGISTRY.get(method)
    if refund_method is None:
        if method == Payment.Method.STORE_CREDIT:
            raise StoreCreditUnavailable()
        raise RefundMethodUnsupported(method=method, known=refund_methods())
    amount = _amount_check(amount, order.currency)
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    request_hash = _request_hash(
        action="refund_to_method",
        order=order.pk,
        method=method,
        amount=str(amount),
        reason=reason,
    )
    with payment_key_lock(key):
        existing = PaymentOperation.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused(key=key)
            return existing
        if Payment.objects.filter(idempotency_key=key).exists():
            raise IdempotencyKeyReused(key=key)
        return _refund_record(
            order=order,
            amount=amount,
            refund_method=refund_method,
            user=user,
            key=key,
            request_hash=request_hash,
            reason=reason,
        )


def _refund_record(
    *,
    order: Order,
    amount: Decimal,
    refund_method: RefundMethod,
    user: AbstractBaseUser | None,
    key: str,
    request_hash: str,
    reason: str,
) -> PaymentOperation:
    who = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            locked = order_lock(order.pk)
            refundable = order_refundable_amount(locked)
            if amount > refundable:
                raise RefundExceedsPaid(
                    amount=amount, refundable=max(refundable, Decimal(0)), currency=locked.currency
                )
            reference = refund_method.handler(
                order=locked,
                amount=amount,
                currency=locked.currency,
                user=who,
                idempotency_key=key,
                reason=reason,
            )
            # The row only carries the refund: nothing captured on it (its cached
            # refunded_amount stays 0, which the payment constraints require; the
            # operation is the truth, as for every total of the order).
            payment = Payment.objects.create(
                order=locked,
                method=refund_method.code,
                status=Payment.Status.REFUNDED,
                amount=Decimal(0),
                currency=locked.currency,
                gateway=refund_method.gateway,
                channel=locked.channel,
                idempotency_key=key,
                created_by=who,
            )
            operation = PaymentOperation.objects.create(
                payment=payment,
                kind=PaymentOperation.Kind.REFUND,
                status=PaymentOperation.Status.SUCCEEDED,
                amount=amount,
                currency=locked.currency,
                provider_reference=(reference or "")[:255],
                idempotency_key=key,
                request_hash=request_hash,
                reason=reason[:255],
                created_by=who,
            )
            event_publish(
                topic=PAYMENT_REFUNDED,
                payload={
                    "payment_id": payment.pk,
                    "order_id": locked.pk,
                    "method": refund_method.code,
                    "amount": str(amount),
                    "currency": locked.currency,
                },
            )
            order_payment_recompute(locked, actor=user)
    except IntegrityError:  # the key taken by a caller outside the lock
        raise PaymentInProgress(key=key) from None
    return operation


__all__ = [
    "RefundMethod",
    "refund_method_register",
    "refund_method_unregister",
    "refund_methods",
    "refund_to_method",
]
