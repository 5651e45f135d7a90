"""Taking the money of a payment: capturing an authorisation, charging a part of a
part-charged payment (an instalment), and recording the mandate of a deferred plan."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum

from orders.locks import order_lock
from payments.exceptions import PaymentMethodUnsupported, PaymentStateInvalid, amount_limit_check
from payments.locks import payment_lock
from payments.models import FINAL, OPEN, PART_CHARGED, Payment, PaymentOperation
from payments.selectors import payment_open_claim
from payments.services.common import (
    amount_check,
    idempotency_key_or_new,
    payment_update,
    request_hash,
)
from payments.services.ledger import order_payment_recompute
from payments.services.operations import payment_operation_claim_run
from unicommerce.actors import acting_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind


def payment_capture(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
) -> Payment:
    """Capture an authorised payment, in full or for less (the rest is released)."""
    if payment.method in PART_CHARGED:  # its parts are charged by payment_charge
        raise PaymentStateInvalid(payment_id=payment.pk, status=payment.status, action="captured")
    amount = amount_check(payment.amount if amount is None else amount, payment.currency)

    def check(locked: Payment) -> None:
        if locked.status != PS.AUTHORISED or payment_open_claim(locked, (K.CAPTURE, K.VOID)):
            raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="captured")
        amount_limit_check(amount=amount, limit=locked.amount, rule="due", currency=locked.currency)

    payment_operation_claim_run(
        payment=payment,
        kind=K.CAPTURE,
        amount=amount,
        key=idempotency_key_or_new(idempotency_key),
        request_hash=request_hash(action="capture", payment=payment.pk, amount=str(amount)),
        check=check,
        user=user,
    )
    return Payment.objects.get(pk=payment.pk)


def payment_charge(
    *,
    payment: Payment,
    amount: Decimal,
    idempotency_key: str,
    reason: str = "",
    user: AbstractBaseUser | None = None,
) -> PaymentOperation:
    """Charge a part of a part-charged payment (an instalment) to its saved payment method.

    The same claim, call, record steps as every other operation: the key is forwarded to
    the provider, so a retry (or ``payment_claims_resume``) after a crash never charges
    twice. A succeeded part raises the payment's ``captured_amount`` (the payment is
    captured once its parts cover its amount) and the order's payment status is derived
    again. Returns the outcome (a succeeded capture, or a pending one when the provider
    confirms later); raises ``PaymentDeclined`` after recording the failure (the first
    part of a payment failing fails the payment), ``PaymentGatewayUnavailable`` when the
    provider does not answer (retry with the same key). Call it outside any transaction.
    """
    if payment.method not in PART_CHARGED:
        raise PaymentMethodUnsupported(method=payment.method, gateway=payment.gateway)
    amount = amount_check(amount, payment.currency)

    def check(locked: Payment) -> None:
        if locked.status not in OPEN:
            raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="charged")
        in_flight = locked.operations.filter(
            kind=K.CAPTURE, status=OPS.PENDING, resolves__isnull=True
        ).exclude(outcomes__status__in=FINAL).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        left = locked.amount - locked.captured_amount - in_flight
        amount_limit_check(amount=amount, limit=left, rule="due", currency=locked.currency)

    return payment_operation_claim_run(
        payment=payment,
        kind=K.CAPTURE,
        amount=amount,
        key=idempotency_key,
        request_hash=request_hash(action="charge", payment=payment.pk, amount=str(amount)),
        check=check,
        user=user,
        reason=reason,
    )


@transaction.atomic
def payment_mandate_record(
    *, payment: Payment, reason: str, user: AbstractBaseUser | None = None
) -> Payment:
    """A part-charged payment whose first part is due later (a deferred plan): nothing is
    charged now, the saved payment method is the authority to charge later. Appends an
    authorise operation (no provider call) and makes the payment authorised. Idempotent."""
    order = order_lock(payment.order_id)
    locked = payment_lock(payment.pk)
    if locked.method not in PART_CHARGED or locked.status not in OPEN:
        raise PaymentStateInvalid(payment_id=locked.pk, status=locked.status, action="authorised")
    if locked.status == PS.PENDING:
        Op.objects.create(
            payment=locked,
            kind=K.AUTHORISE,
            status=OPS.SUCCEEDED,
            amount=locked.amount,
            currency=locked.currency,
            reason=reason[:255],
            created_by=acting_user(user),
        )
        payment_update(locked, status=PS.AUTHORISED)
        order_payment_recompute(order, actor=user)
    return locked
