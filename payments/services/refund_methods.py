"""Refunds to another method than the payment's own (a card payment given back in cash at
the till, on a standalone card terminal, or as store credit).

``payments.services.refund.payment_refund`` gives money back to the original payment. Here
the money goes out another way, so it is recorded as its own payment row of that method
(``amount`` 0, nothing captured) carrying one succeeded refund operation: the order's
refunded total (summed from the operations ledger) includes it, and the order's payment
status follows. The refund is checked against what the order still has paid (over all
its payments), and ``payment_refund`` checks the same, so an order is never refunded
twice over whichever way the money goes.

Methods are a small registry, filled by ``PaymentsConfig.ready()``
(``payments.registry``): cash and card terminal (the money is handed over at the till:
nothing to call) and store credit (``store_credit_refund``: a credit on loyalty's ledger).
A method without a handler is refused (``store_credit_unavailable`` for store credit). A
handler is called inside the refund's transaction and must stay local (a ledger row in
the same database), never call out::

    handler(*, order, amount, currency, user, idempotency_key, reason) -> str  # reference
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from customers.models import Customer
from loyalty.exceptions import StoreCreditNeedsCustomer
from loyalty.models import StoreCreditEntry
from loyalty.services.store_credit import store_credit_add
from orders.locks import order_lock
from orders.models import Order
from payments.events import PAYMENT_REFUNDED
from payments.exceptions import (
    IdempotencyKeyReused,
    PaymentInProgress,
    RefundMethodUnsupported,
    StoreCreditUnavailable,
    amount_limit_check,
)
from payments.locks import payment_key_lock
from payments.models import IN_PERSON, Payment, PaymentOperation
from payments.selectors import order_refundable_amount
from payments.services.common import amount_check, idempotency_key_or_new, request_hash
from payments.services.ledger import order_payment_recompute
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
    gateway = gateway or ("manual" if code in IN_PERSON else code)
    _REGISTRY[code] = RefundMethod(code, handler, gateway)


def refund_method_unregister(code: str) -> None:
    _REGISTRY.pop(code, None)


def refund_methods() -> list[str]:
    """The methods a refund can go to now."""
    return sorted(_REGISTRY)


def refund_handed_over(**kwargs) -> str:
    """The handler of cash or a card terminal at the till: the seller hands the money
    over (nothing to record elsewhere)."""
    return ""


def store_credit_refund(
    *,
    order: Order,
    amount: Decimal,
    currency: str,
    user,
    idempotency_key: str,
    reason: str,
) -> str:
    """The handler of store credit: the order's customer gets ``amount`` as store credit
    (loyalty's ledger)."""
    if order.customer_id is None:
        raise StoreCreditNeedsCustomer(order=order.reference)
    is_return = reason.lower().startswith("return")
    entry = store_credit_add(
        customer=Customer(pk=order.customer_id),
        amount=amount,
        currency=currency,
        reason=StoreCreditEntry.Reason.RETURN if is_return else StoreCreditEntry.Reason.REFUND,
        reference=order.reference,
        user=user,
        idempotency_key=f"refund-to:{idempotency_key}",
    )
    return f"sc_{entry.pk}"


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
    amount = amount_check(amount, order.currency)
    key = idempotency_key_or_new(idempotency_key)
    fingerprint = request_hash(
        action="refund_to_method",
        order=order.pk,
        method=method,
        amount=str(amount),
        reason=reason,
    )
    with payment_key_lock(key):
        existing = PaymentOperation.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.request_hash != fingerprint:
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
            request_hash=fingerprint,
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
            amount_limit_check(
                amount=amount,
                limit=max(refundable, Decimal(0)),
                rule="paid",
                currency=locked.currency,
            )
            reference = refund_method.handler(
                order=locked,
                amount=amount,
                currency=locked.currency,
                user=who,
                idempotency_key=key,
                reason=reason,
            )
            operation = _refund_rows_create(
                order=locked,
                amount=amount,
                refund_method=refund_method,
                reference=reference,
                who=who,
                key=key,
                request_hash=request_hash,
                reason=reason,
            )
            order_payment_recompute(locked, actor=user)
    except IntegrityError:  # the key taken by a caller outside the lock
        raise PaymentInProgress(key=key) from None
    return operation


def _refund_rows_create(
    *,
    order: Order,
    amount: Decimal,
    refund_method: RefundMethod,
    reference: str,
    who: AbstractBaseUser | None,
    key: str,
    request_hash: str,
    reason: str,
) -> PaymentOperation:
    """The refund's payment row of its method and its succeeded refund operation."""
    # The row only carries the refund: nothing captured on it (its cached
    # refunded_amount stays 0, which the payment constraints require; the
    # operation is the truth, as for every total of the order).
    payment = Payment.objects.create(
        order=order,
        method=refund_method.code,
        status=Payment.Status.REFUNDED,
        amount=Decimal(0),
        currency=order.currency,
        gateway=refund_method.gateway,
        channel=order.channel,
        idempotency_key=key,
        created_by=who,
    )
    operation = PaymentOperation.objects.create(
        payment=payment,
        kind=PaymentOperation.Kind.REFUND,
        status=PaymentOperation.Status.SUCCEEDED,
        amount=amount,
        currency=order.currency,
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
            "order_id": order.pk,
            "method": refund_method.code,
            "amount": str(amount),
            "currency": order.currency,
        },
    )
    return operation


__all__ = [
    "RefundMethod",
    "refund_handed_over",
    "refund_method_register",
    "refund_method_unregister",
    "refund_methods",
    "refund_to_method",
    "store_credit_refund",
]
