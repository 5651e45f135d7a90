"""The claim → call the gateway → record engine every gateway operation goes through
(start, capture, charge, refund, void: docs/payments.md).

**Idempotency, and never charging twice.** Every state-changing call takes an
idempotency key. The call runs in three steps, none holding a row lock while the
provider is called:

1. *claim*: in one short transaction (order row lock, then payment), check the rules and
   append a pending operation carrying the key (unique) and the hash of the request;
   commit. From now on the key belongs to this request.
2. *call* the gateway, forwarding the key as the provider's idempotency key;
3. *record* the outcome as a new operation (``resolves`` = the claim), update the
   payment's cached status and amounts, derive the order's payment status, publish the
   outbox events; commit.

Calls with one key are serialised by a PostgreSQL advisory lock on the key (a retry
waits for the first call to finish, up to ``PAYMENT_IDEMPOTENCY_WAIT_SECONDS``), then
read what the first one recorded: the same answer; another request with the key is
refused (``idempotency_key_reused``). If a process dies (or the provider does not answer)
between 1 and 3, the claim has no outcome: the next call with the same key, or
``payment_claims_resume``, sends the same call again with the same provider key, which
providers answer with their first answer: the charge is made at most once.

Lock order: see ``payments.locks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.locks import order_lock
from payments.exceptions import (
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PaymentInProgress,
)
from payments.gateways import Gateway, GatewayError, GatewayResult, TemporaryError, gateway_get
from payments.locks import payment_key_lock, payment_lock, provider_reference_lock
from payments.models import FINAL, PART_CHARGED, Payment, PaymentOperation
from payments.services.common import payment_update
from payments.services.ledger import (
    order_payment_recompute,
    payment_capture_apply,
    payment_refund_apply,
)
from payments.services.webhooks import unmatched_events_apply
from unicommerce.actors import acting_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind


def payment_operation_claim_run(
    *,
    payment: Payment,
    kind: str,
    amount: Decimal | None,
    key: str,
    request_hash: str,
    check: Callable[[Payment], None],
    user: AbstractBaseUser | None = None,
    reason: str = "",
) -> PaymentOperation:
    """The one path of capture, charge, refund and void: claim an operation of ``kind``
    on ``payment`` (``amount``, or the payment's; ``check(locked)`` refuses under the
    order's and the payment's locks), call the gateway and record its answer (or answer
    what the same key was answered before). Returns the answer; raises
    ``PaymentDeclined`` after recording a decline, ``PaymentGatewayUnavailable`` when the
    provider does not answer (retry with the same key)."""

    def claim() -> PaymentOperation:
        with transaction.atomic():
            order_lock(payment.order_id)
            locked = payment_lock(payment.pk)
            check(locked)
            return Op.objects.create(
                payment=locked,
                kind=kind,
                status=OPS.PENDING,
                amount=locked.amount if amount is None else amount,
                currency=locked.currency,
                idempotency_key=key,
                request_hash=request_hash,
                reason=reason[:255],
                created_by=acting_user(user),
            )

    answer = payment_operation_run(key=key, request_hash=request_hash, claim=claim)
    if answer.status == OPS.FAILED:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return answer


def _final_outcome(claim: PaymentOperation) -> PaymentOperation | None:
    return claim.outcomes.filter(status__in=FINAL).order_by("id").first()


def _answer_of(claim: PaymentOperation) -> PaymentOperation | None:
    """What a claim was answered: its final outcome, else a pending one, else None."""
    return _final_outcome(claim) or claim.outcomes.order_by("-id").first()


def payment_operation_run(
    *,
    key: str,
    request_hash: str,
    claim: Callable[[], PaymentOperation],
) -> PaymentOperation:
    """Run (or replay) the request claimed by ``key``; return the answer operation."""
    with payment_key_lock(key):
        existing = Op.objects.filter(idempotency_key=key).first()
        if existing is None:
            try:
                existing = claim()
            except IntegrityError as exc:
                # Someone claimed the key without the advisory lock (another code path):
                # the unique index still decides.
                return _claimed_elsewhere(key, request_hash, exc)
        elif existing.request_hash != request_hash:
            raise IdempotencyKeyReused(key=key)
        else:
            answer = _answer_of(existing)
            if answer is not None:
                return answer
        return _call_and_record(existing)


def _claimed_elsewhere(key: str, request_hash: str, exc: IntegrityError) -> PaymentOperation:
    existing = Op.objects.filter(idempotency_key=key).first()
    if existing is None:
        raise exc
    answer = _answer_of(existing)
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused(key=key) from None
    if answer is None:
        raise PaymentInProgress(key=key) from None
    return answer


def _call_and_record(claim: PaymentOperation) -> PaymentOperation:
    """Call the gateway for a claim without an outcome, and record what it answered."""
    payment = Payment.objects.select_related("order").get(pk=claim.payment_id)
    gateway = gateway_get(payment.gateway or "manual")
    action = _action_of(claim, payment)
    try:
        result = _call(action, gateway, claim, payment)
    except TemporaryError as exc:
        logger.warning(
            "payment gateway %s did not answer %s for payment %s (%s): the claim stays open",
            gateway.code,
            action,
            payment.pk,
            exc.code,
        )
        raise PaymentGatewayUnavailable(gateway=gateway.code, key=claim.idempotency_key) from exc
    except GatewayError as exc:
        return _record(action, gateway, claim, result=None, error=exc)
    outcome = _record(action, gateway, claim, result=result, error=None)
    gateway.outcome_recorded(result=result, idempotency_key=claim.idempotency_key)
    return outcome


def _action_of(claim: PaymentOperation, payment: Payment) -> str:
    if claim.kind in (K.CAPTURE, K.AUTHORISE) and claim.idempotency_key == payment.idempotency_key:
        return "start"
    if claim.kind == K.CAPTURE and payment.method in PART_CHARGED:
        return "charge"
    return claim.kind


def _call(
    action: str, gateway: Gateway, claim: PaymentOperation, payment: Payment
) -> GatewayResult:
    key = claim.idempotency_key
    if action in ("start", "charge"):
        metadata = {"order": payment.order.reference, "payment_id": str(payment.pk)}
        if action == "charge":
            metadata["part_of"] = str(payment.amount)
        return gateway.charge(
            amount=claim.amount,
            currency=claim.currency,
            token=payment.provider_token,
            capture=action == "charge" or claim.kind == K.CAPTURE,
            idempotency_key=key,
            description=payment.order.reference,
            metadata=metadata,
        )
    if action == K.CAPTURE:
        return gateway.capture(
            reference=payment.provider_reference,
            amount=claim.amount,
            currency=claim.currency,
            idempotency_key=key,
        )
    if action == K.REFUND:
        return gateway.refund(
            reference=payment.provider_reference,
            amount=claim.amount,
            currency=claim.currency,
            idempotency_key=key,
        )
    return gateway.void(reference=payment.provider_reference, idempotency_key=key)


def _record(
    action: str,
    gateway: Gateway,
    claim: PaymentOperation,
    *,
    result: GatewayResult | None,
    error: GatewayError | None,
) -> PaymentOperation:
    """Append the outcome of a claim and bring the payment and the order in line."""
    with transaction.atomic():
        reference = result.reference if result is not None and action != K.REFUND else ""
        payment = Payment.objects.get(pk=claim.payment_id)
        reference = reference or payment.provider_reference
        if reference:
            provider_reference_lock(gateway.code, reference)
        order = order_lock(payment.order_id)
        payment = payment_lock(claim.payment_id)
        done = _final_outcome(claim)
        if done is not None:  # a webhook settled it while we waited for the answer
            return done
        common = {
            "payment": payment,
            "currency": claim.currency,
            "resolves": claim,
            "created_by_id": claim.created_by_id,
            "reason": claim.reason,
        }
        if error is not None:
            outcome = _failure_record(action, payment, claim, error, common)
        else:
            outcome = _result_record(action, payment, claim, result, common)
        order_payment_recompute(order)
        if reference:
            unmatched_events_apply(gateway=gateway.code, reference=reference, order=order)
    return outcome


def _failure_record(
    action: str,
    payment: Payment,
    claim: PaymentOperation,
    error: GatewayError,
    common: dict[str, Any],
) -> PaymentOperation:
    # The first charge of a part-charged payment that fails fails the payment.
    first = action == "start" or (action == "charge" and payment.status == PS.PENDING)
    outcome = Op.objects.create(
        kind=K.FAILURE if first else claim.kind,
        status=OPS.FAILED,
        amount=claim.amount,
        provider_reference=error.reference,
        error_code=error.code[:100],
        error_message=error.message[:255],
        **common,
    )
    if first:
        payment_update(payment, status=PS.FAILED, provider_reference=error.reference)
    return outcome


def _result_record(
    action: str,
    payment: Payment,
    claim: PaymentOperation,
    result: GatewayResult,
    common: dict[str, Any],
) -> PaymentOperation:
    if action == K.REFUND:
        status = OPS.PENDING if result.outcome == "pending" else OPS.SUCCEEDED
        outcome = Op.objects.create(
            kind=K.REFUND,
            status=status,
            amount=claim.amount,
            provider_reference=result.reference,
            **common,
        )
        if status == OPS.SUCCEEDED:
            payment_refund_apply(payment, claim.amount)
        return outcome
    if action == K.VOID:
        outcome = Op.objects.create(
            kind=K.VOID,
            status=OPS.SUCCEEDED,
            amount=payment.amount - payment.captured_amount,
            provider_reference=payment.provider_reference,
            **common,
        )
        payment_update(payment, status=PS.VOIDED)
        return outcome
    return _taken_record(action, payment, claim, result, common)


def _taken_record(
    action: str,
    payment: Payment,
    claim: PaymentOperation,
    result: GatewayResult,
    common: dict[str, Any],
) -> PaymentOperation:
    """The answer to a start, a capture or a charge: pending, authorised or captured."""
    card = {}
    if result.card_last4:
        card = {"card_brand": result.card_brand[:30], "card_last4": result.card_last4[-4:]}
    if action == "start" or (action == "charge" and not payment.provider_reference):
        payment_update(payment, provider_reference=result.reference, **card)
    if result.outcome == "pending":
        kind, status = claim.kind, OPS.PENDING
    elif result.outcome == "authorised":
        kind, status = K.AUTHORISE, OPS.SUCCEEDED
    else:
        kind, status = K.CAPTURE, OPS.SUCCEEDED
    outcome = Op.objects.create(
        kind=kind,
        status=status,
        amount=claim.amount,
        provider_reference=result.reference,
        **common,
    )
    if result.outcome == "authorised":
        payment_update(payment, status=PS.AUTHORISED)
    elif result.outcome != "pending":
        payment_capture_apply(payment, claim.amount)
    return outcome


def payment_claims_resume(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Finish the claims whose answer was lost (a crash or a provider time-out between
    the claim and the record): send the same call again with the same provider key.
    Returns how many were settled. Safe to run any time (the beat's job)."""
    cutoff = timezone.now() - older_than
    claims = (
        Op.objects.filter(
            status=OPS.PENDING,
            resolves__isnull=True,
            idempotency_key__isnull=False,
            created_at__lt=cutoff,
        )
        .filter(outcomes__isnull=True)
        .order_by("id")
    )
    settled = 0
    for claim in claims:
        try:
            with payment_key_lock(claim.idempotency_key):
                if claim.outcomes.exists():
                    continue
                _call_and_record(claim)
                settled += 1
        except (PaymentGatewayUnavailable, PaymentInProgress) as exc:
            logger.warning("payment claim %s not resumed: %s", claim.pk, exc.code)
    return settled
