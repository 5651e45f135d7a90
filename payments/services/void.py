"""Releasing what a payment will not take: an authorisation voided at the provider, or
the rest of a part-charged payment (an instalment plan stopped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from orders.locks import order_lock
from payments.exceptions import PaymentStateInvalid
from payments.locks import payment_lock
from payments.models import OPEN, PART_CHARGED, Payment, PaymentOperation
from payments.selectors import payment_open_claim
from payments.services.common import idempotency_key_or_new, payment_update, request_hash
from payments.services.ledger import order_payment_recompute
from payments.services.operations import payment_operation_claim_run
from unicommerce.actors import acting_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind


def payment_void(
    *,
    payment: Payment,
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
) -> Payment:
    """Release an authorisation that will not be captured."""
    if payment.method in PART_CHARGED:  # released by payment_remainder_release
        raise PaymentStateInvalid(payment_id=payment.pk, status=payment.status, action="voided")

    def check(locked: Payment) -> None:
        if locked.status != PS.AUTHORISED or payment_open_claim(locked, (K.CAPTURE, K.VOID)):
            raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="voided")

    payment_operation_claim_run(
        payment=payment,
        kind=K.VOID,
        amount=None,  # the payment's amount
        key=idempotency_key_or_new(idempotency_key),
        request_hash=request_hash(action="void", payment=payment.pk),
        check=check,
        user=user,
    )
    return Payment.objects.get(pk=payment.pk)


@transaction.atomic
def payment_remainder_release(
    *, payment: Payment, reason: str, user: AbstractBaseUser | None = None
) -> Payment:
    """Stop expecting the rest of a part-charged payment (a defaulted or cancelled plan):
    a void operation for what was not charged; the payment ends captured for what was
    (voided when nothing was), and the order owes the rest again. Idempotent."""
    order = order_lock(payment.order_id)
    locked = payment_lock(payment.pk)
    if locked.status not in OPEN:
        return locked
    if locked.method not in PART_CHARGED:
        raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="released")
    Op.objects.create(
        payment=locked,
        kind=K.VOID,
        status=OPS.SUCCEEDED,
        amount=locked.amount - locked.captured_amount,
        currency=locked.currency,
        reason=reason[:255],
        created_by=acting_user(user),
    )
    payment_update(locked, status=PS.CAPTURED if locked.captured_amount > 0 else PS.VOIDED)
    order_payment_recompute(order, actor=user)
    return locked
