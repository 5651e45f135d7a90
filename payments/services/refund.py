"""Refunding a payment: money given back to the payment it was taken by."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from payments.exceptions import PaymentStateInvalid, amount_limit_check
from payments.models import Payment, PaymentOperation
from payments.selectors import order_refundable_amount, payment_refunds_in_flight
from payments.services.common import amount_check, idempotency_key_or_new, request_hash
from payments.services.operations import payment_operation_claim_run

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PS = Payment.Status
K = PaymentOperation.Kind


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    idempotency_key: str | None,
    reason: str = "",
    user: AbstractBaseUser | None = None,
) -> PaymentOperation:
    """Give back ``amount`` (part or all of what was captured) to the original payment.
    Returns the refund operation (succeeded, or pending until the provider confirms)."""
    amount = amount_check(amount, payment.currency)

    def check(locked: Payment) -> None:
        if locked.status not in (PS.CAPTURED, PS.PARTIALLY_REFUNDED):
            raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="refunded")
        refundable = locked.refundable_amount - payment_refunds_in_flight(locked)
        amount_limit_check(
            amount=amount, limit=refundable, rule="captured", currency=locked.currency
        )
        # Refunds made to another method (payments.services.refund_methods) count too.
        amount_limit_check(
            amount=amount,
            limit=order_refundable_amount(locked.order),
            rule="paid",
            currency=locked.currency,
        )

    return payment_operation_claim_run(
        payment=payment,
        kind=K.REFUND,
        amount=amount,
        key=idempotency_key_or_new(idempotency_key),
        request_hash=request_hash(
            action="refund", payment=payment.pk, amount=str(amount), reason=reason
        ),
        check=check,
        user=user,
        reason=reason,
    )
