"""Payment operations: start, capture, refund, void, provider webhooks, and the order's
payment status derived from the operations ledger (docs/payments.md).

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

Lock order, for every writer here: the provider reference (advisory, webhooks and
outcomes), the order (``orders.locks.order_lock``), the payment, the provider event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from orders.locks import order_lock
from orders.models import Order
from orders.services.fulfilment import order_paid_hand_over
from orders.states import order_payment_status_set
from payments.conf import setting
from payments.exceptions import (
    CardNumberRefused,
    GatewayUnknown,
    IdempotencyKeyReused,
    OrderNotPayable,
    PaymentAmountInvalid,
    PaymentCurrencyMismatch,
    PaymentDeclined,
    PaymentExceedsDue,
    PaymentGatewayUnavailable,
    PaymentInProgress,
    PaymentMethodUnsupported,
    PaymentStateInvalid,
    RefundExceedsCaptured,
    RefundExceedsPaid,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from payments.gateways import (
    Gateway,
    GatewayError,
    GatewayResult,
    SignatureInvalid,
    TemporaryError,
    WebhookEvent,
    gateway_get,
)
from payments.models import Payment, PaymentOperation, ProviderEvent
from unicommerce.actors import acting_user
from unicommerce.events.services import event_publish
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from catalog.models import SalesChannel

logger = logging.getLogger(__name__)

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind

PAYMENT_CAPTURED = "payment.captured"
PAYMENT_REFUNDED = "payment.refunded"
ORDER_PAID = "order.paid"

IN_PERSON = frozenset({Payment.Method.CASH, Payment.Method.CARD_TERMINAL})
# Gift cards and store credit are ledgers of the loyalty app, which registers a gateway
# under these codes (payments.gateways.gateway_register): payments never imports loyalty.
LEDGER_GATEWAYS = {
    Payment.Method.GIFT_CARD: "gift_card",
    Payment.Method.STORE_CREDIT: "store_credit",
}
# Payments taken in several charges to the saved payment method (an instalment plan):
# each part is a new charge (``payment_charge``), never a capture of an authorisation.
PART_CHARGED = frozenset({Payment.Method.INSTALMENT})
OPEN = frozenset({PS.PENDING, PS.AUTHORISED})
SETTLED = frozenset({PS.CAPTURED, PS.PARTIALLY_REFUNDED, PS.REFUNDED})
FINAL = (OPS.SUCCEEDED, OPS.FAILED)
# The reason of the operations that give money back for a return ("return R…", written
# by payments.returns): refunds, and the voids that take a returned amount off what an
# instalment plan still had to collect (``payments.instalments.instalment_plan_reduce``).
RETURN_REASON_PREFIX = "return "


# --- helpers


def _request_hash(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _token_check(token: str) -> None:
    """Refuse anything that looks like a card number (it must never be stored or sent)."""
    digits = re.sub(r"[\s-]", "", token or "")
    if re.fullmatch(r"\d{12,19}", digits) and _luhn(digits):
        raise CardNumberRefused()


def _amount_check(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or money_round(amount, currency) <= 0:
        raise PaymentAmountInvalid(amount=amount, currency=currency)
    return money_round(amount, currency)


def _payment_lock(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def _lock_id(namespace: str, value: str) -> int:
    digest = hashlib.sha256(f"{namespace}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _key_lock(key: str) -> Iterator[None]:
    """Serialise the calls made with one idempotency key (a session advisory lock, held
    across the claim, the provider call and the record; it locks no row)."""
    lock_id = _lock_id("payments-key", key)
    wait = int(float(setting("PAYMENT_IDEMPOTENCY_WAIT_SECONDS")) * 1000)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait}ms"])
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    except OperationalError as exc:
        raise PaymentInProgress(key=key) from exc
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        except Exception:  # an aborted transaction: the lock ends with the session
            logger.exception("could not release the idempotency lock of %s", key)


def _reference_lock(gateway: str, reference: str) -> None:
    """Serialise what is recorded for one provider payment (outcome vs webhook), for the
    current transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [_lock_id("payments-ref", f"{gateway}:{reference}")]
        )


def _final_outcome(claim: PaymentOperation) -> PaymentOperation | None:
    return claim.outcomes.filter(status__in=FINAL).order_by("id").first()


def _answer_of(claim: PaymentOperation) -> PaymentOperation | None:
    """What a claim was answered: its final outcome, else a pending one, else None."""
    return _final_outcome(claim) or claim.outcomes.order_by("-id").first()


def _open_claim(payment: Payment, kinds: tuple[str, ...]) -> PaymentOperation | None:
    """The payment's claim of one of ``kinds`` that has no final outcome yet."""
    return (
        payment.operations.filter(kind__in=kinds, status=OPS.PENDING, resolves__isnull=True)
        .exclude(outcomes__status__in=FINAL)
        .order_by("id")
        .first()
    )


def _idempotent(
    *,
    key: str,
    request_hash: str,
    claim: Callable[[], PaymentOperation],
) -> PaymentOperation:
    """Run (or replay) the request claimed by ``key``; return the answer operation."""
    with _key_lock(key):
        existing = Op.objects.filter(idempotency_key=key).first()
        if existing is None:
            try:
                existing = claim()
            except IntegrityError:
                # Someone claimed the key without the advisory lock (another code path):
                # the unique index still decides.
                existing = Op.objects.filter(idempotency_key=key).first()
                if existing is None:
                    raise
                answer = _answer_of(existing)
                if existing.request_hash != request_hash:
                    raise IdempotencyKeyReused(key=key) from None
                if answer is None:
                    raise PaymentInProgress(key=key) from None
                return answer
        elif existing.request_hash != request_hash:
            raise IdempotencyKeyReused(key=key)
        else:
            answer = _answer_of(existing)
            if answer is not None:
                return answer
        return _call_and_record(existing)


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
    if action == "start":
        return gateway.charge(
            amount=claim.amount,
            currency=claim.currency,
            token=payment.provider_token,
            capture=claim.kind == K.CAPTURE,
            idempotency_key=key,
            description=payment.order.reference,
            metadata={"order": payment.order.reference, "payment_id": str(payment.pk)},
        )
    if action == "charge":
        return gateway.charge(
            amount=claim.amount,
            currency=claim.currency,
            token=payment.provider_token,
            capture=True,
            idempotency_key=key,
            description=payment.order.reference,
            metadata={
                "order": payment.order.reference,
                "payment_id": str(payment.pk),
                "part_of": str(payment.amount),
            },
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
            _reference_lock(gateway.code, reference)
        order = order_lock(payment.order_id)
        payment = _payment_lock(claim.payment_id)
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
            # The first charge of a part-charged payment that fails fails the payment.
            first = action == "start" or (action == "charge" and payment.status == PS.PENDING)
            kind = K.FAILURE if first else claim.kind
            outcome = Op.objects.create(
                kind=kind,
                status=OPS.FAILED,
                amount=claim.amount,
                provider_reference=error.reference,
                error_code=error.code[:100],
                error_message=error.message[:255],
                **common,
            )
            if first:
                _payment_update(payment, status=PS.FAILED, provider_reference=error.reference)
        else:
            outcome = _record_result(action, payment, claim, result, common)
        order_payment_recompute(order)
        if reference:
            _unmatched_events_apply(gateway=gateway.code, reference=reference, order=order)
    return outcome


def _record_result(
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
            _refund_apply(payment, claim.amount)
        return outcome
    if action == K.VOID:
        outcome = Op.objects.create(
            kind=K.VOID,
            status=OPS.SUCCEEDED,
            amount=payment.amount - payment.captured_amount,
            provider_reference=payment.provider_reference,
            **common,
        )
        _payment_update(payment, status=PS.VOIDED)
        return outcome
    # start or capture
    card = {}
    if result.card_last4:
        card = {"card_brand": result.card_brand[:30], "card_last4": result.card_last4[-4:]}
    if action == "start" or (action == "charge" and not payment.provider_reference):
        _payment_update(payment, provider_reference=result.reference, **card)
    if result.outcome == "pending":
        return Op.objects.create(
            kind=claim.kind,
            status=OPS.PENDING,
            amount=claim.amount,
            provider_reference=result.reference,
            **common,
        )
    if result.outcome == "authorised":
        outcome = Op.objects.create(
            kind=K.AUTHORISE,
            status=OPS.SUCCEEDED,
            amount=claim.amount,
            provider_reference=result.reference,
            **common,
        )
        _payment_update(payment, status=PS.AUTHORISED)
        return outcome
    outcome = Op.objects.create(
        kind=K.CAPTURE,
        status=OPS.SUCCEEDED,
        amount=claim.amount,
        provider_reference=result.reference,
        **common,
    )
    _capture_apply(payment, claim.amount)
    return outcome


def _payment_update(payment: Payment, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.save(update_fields=[*fields, "updated_at"])


def _capture_apply(payment: Payment, amount: Decimal) -> None:
    """A capture succeeded: cache it on the payment and tell the live screens.

    A part-charged payment (instalments) adds the part, and stays authorised (the rest
    is still to be charged) until its parts add up to its amount."""
    if payment.method in PART_CHARGED:
        captured = payment.captured_amount + amount
        # Still open while parts are due; a charge landing after the rest was released
        # (a plan cancelled mid-charge) leaves it captured.
        still_due = payment.status in OPEN and captured < payment.amount
        status = PS.AUTHORISED if still_due else PS.CAPTURED
        _payment_update(payment, status=status, captured_amount=captured)
    else:
        _payment_update(payment, status=PS.CAPTURED, captured_amount=amount)
    event_publish(
        topic=PAYMENT_CAPTURED,
        payload={
            "payment_id": payment.pk,
            "order_id": payment.order_id,
            "method": payment.method,
            "amount": str(amount),
            "currency": payment.currency,
        },
    )


def _refund_apply(payment: Payment, amount: Decimal) -> None:
    refunded = payment.refunded_amount + amount
    status = PS.REFUNDED if refunded >= payment.captured_amount else PS.PARTIALLY_REFUNDED
    _payment_update(payment, status=status, refunded_amount=refunded)
    event_publish(
        topic=PAYMENT_REFUNDED,
        payload={
            "payment_id": payment.pk,
            "order_id": payment.order_id,
            "amount": str(amount),
            "currency": payment.currency,
        },
    )


# --- the order's side


def order_payment_totals(order: Order) -> tuple[Decimal, Decimal, Decimal]:
    """(captured, refunded, in flight) over the order's payments, from the operations
    ledger (payments recorded without operations, cash at the till, count as the row says).
    """
    return _order_sums(order)[:3]


def _order_sums(order: Order) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(captured, refunded, in flight, taken off plans by returns): see
    ``order_payment_totals`` and ``order_returns_taken_off_plans``."""
    sums = dict(
        Op.objects.filter(
            Q(kind__in=[K.CAPTURE, K.REFUND])
            | Q(kind=K.VOID, reason__startswith=RETURN_REASON_PREFIX),
            payment__order=order,
            status=OPS.SUCCEEDED,
        )
        .order_by()
        .values_list("kind")
        .annotate(total=Sum("amount"))
    )
    captured = sums.get(K.CAPTURE) or Decimal(0)
    refunded = sums.get(K.REFUND) or Decimal(0)
    # Payments recorded already captured, without operations (cash at the till).
    captured_op = Op.objects.filter(payment=OuterRef("pk"), kind=K.CAPTURE, status=OPS.SUCCEEDED)
    legacy = (
        Payment.objects.filter(order=order)
        .exclude(Exists(captured_op))
        .aggregate(captured=Sum("captured_amount"))
    )
    captured += legacy["captured"] or 0
    # What open payments will still take (an instalment plan: its parts not yet charged).
    in_flight = Payment.objects.filter(order=order, status__in=OPEN).aggregate(
        total=Sum(F("amount") - F("captured_amount"))
    )["total"] or Decimal(0)
    return captured, refunded, in_flight, sums.get(K.VOID) or Decimal(0)


def order_outstanding_amount(order: Order) -> Decimal:
    """What is still due: the total less what is captured (net of refunds) or in flight."""
    captured, refunded, in_flight = order_payment_totals(order)
    return order.total_amount - (captured - refunded) - in_flight


def order_refundable_amount(order: Order) -> Decimal:
    """What may still be given back on the order, over all its payments and methods:
    captured less refunded less the refunds still waiting for an answer."""
    captured, refunded, _ = order_payment_totals(order)
    waiting = Op.objects.filter(
        payment__order=order, kind=K.REFUND, status=OPS.PENDING, resolves__isnull=True
    ).exclude(outcomes__status__in=FINAL).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return captured - refunded - waiting


def _committed_by_plans(order: Order) -> Decimal:
    """What running instalment plans (active or late, first part taken or, for deferred
    plans, the mandate given) have still to collect: the customer has paid *by* the plan,
    as a buy-now-pay-later provider would settle the merchant. A defaulted or cancelled
    plan releases its remainder, and the order owes it again."""
    from payments.models import InstalmentPlan

    return Payment.objects.filter(
        order=order,
        method=Payment.Method.INSTALMENT,
        status__in=OPEN,
        plan__status__in=[InstalmentPlan.Status.ACTIVE, InstalmentPlan.Status.LATE],
    ).aggregate(total=Sum(F("amount") - F("captured_amount")))["total"] or Decimal(0)


def order_returns_taken_off_plans(order: Order) -> Decimal:
    """What returns took off what instalment plans still had to collect (the customer
    owes that much less: given back without money moving)."""
    return _order_sums(order)[3]


def order_payment_status_derived(order: Order) -> tuple[str, Decimal]:
    """paid / partially paid / unpaid / (partially) refunded, from the ledger. An order
    covered by what was captured plus what running instalment plans will collect is paid
    (paid in instalments); ``net`` is what was actually captured, net of refunds. A
    return taken off a plan's parts still due counts as given back, like a refund: the
    order is (partially) refunded, not short of money."""
    captured, refunded, _, taken_off = _order_sums(order)
    net = captured - refunded
    S = Order.PaymentStatus
    committed = _committed_by_plans(order)
    if refunded > 0 or taken_off > 0:
        return (S.REFUNDED if net + committed <= 0 else S.PARTIALLY_REFUNDED), net
    covered = net + committed
    if covered >= order.total_amount and (covered > 0 or order.total_amount == 0):
        return S.PAID, net
    if net > 0:
        return S.PARTIALLY_PAID, net
    return S.UNPAID, net


def order_payment_recompute(
    order: Order,
    *,
    actor: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Order:
    """Derive the order's payment status from its operations and record it (the caller
    holds the order's row lock, in the transaction of the change). Publishes
    ``order.paid`` when the order becomes paid."""
    status, net = order_payment_status_derived(order)
    previous = order.payment_status
    order_payment_status_set(
        order=order, status=status, paid_amount=net, actor=acting_user(actor), channel=channel
    )
    if status == Order.PaymentStatus.PAID and previous != status:
        # Goods held at the till for this payment leave with the customer now.
        order_paid_hand_over(order=order, user=acting_user(actor), channel=channel)
        event_publish(
            topic=ORDER_PAID,
            payload={
                "order_id": order.pk,
                "reference": order.reference,
                "amount": str(net),
                "currency": order.currency,
            },
        )
    return order


# --- the operations


def payment_start(
    *,
    order: Order,
    method: str,
    amount: Decimal,
    gateway: str | None = None,
    token: str = "",
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    currency: str | None = None,
    capture: bool = True,
) -> Payment:
    """Take ``amount`` towards ``order`` by ``method`` (captured at once, or only
    authorised with ``capture=False``).

    Refuses an amount of zero or less, another currency than the order's, and more than
    the order's outstanding amount. Returns the payment (captured, authorised, or pending
    when the provider confirms later by webhook); raises ``PaymentDeclined`` when the
    provider declines (the failure is recorded first), ``PaymentGatewayUnavailable``
    when it does not answer (retry with the same key). Call it outside any transaction:
    the claim must be committed before the provider is called.
    """
    method = str(method)
    if method not in Payment.Method.values:
        raise PaymentMethodUnsupported(method=method)
    code = gateway or _default_gateway(method)
    try:
        gateway_get(code)  # refused before anything is written
    except GatewayUnknown:
        raise PaymentMethodUnsupported(method=method, gateway=code) from None
    currency = (currency or order.currency).upper()
    if currency != order.currency:
        raise PaymentCurrencyMismatch(expected=order.currency, given=currency)
    amount = _amount_check(amount, currency)
    _token_check(token)
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    request_hash = _request_hash(
        action="start",
        order=order.pk,
        method=method,
        amount=str(amount),
        currency=currency,
        gateway=code,
        token=token,
        capture=capture,
    )

    def claim() -> PaymentOperation:
        with transaction.atomic():
            locked = order_lock(order.pk)
            if locked.status == Order.Status.CANCELLED:
                raise OrderNotPayable(order=locked.reference, status=locked.status)
            outstanding = order_outstanding_amount(locked)
            if amount > outstanding:
                raise PaymentExceedsDue(amount=amount, outstanding=outstanding, currency=currency)
            payment = Payment.objects.create(
                order=locked,
                method=method,
                status=PS.PENDING,
                amount=amount,
                currency=currency,
                gateway=code,
                provider_token=token,
                channel=channel,
                idempotency_key=key,
                created_by=acting_user(user),
            )
            return Op.objects.create(
                payment=payment,
                kind=K.CAPTURE if capture else K.AUTHORISE,
                status=OPS.PENDING,
                amount=amount,
                currency=currency,
                idempotency_key=key,
                request_hash=request_hash,
                created_by=acting_user(user),
            )

    answer = _idempotent(key=key, request_hash=request_hash, claim=claim)
    payment = Payment.objects.get(pk=answer.payment_id)
    if answer.kind == K.FAILURE:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return payment


def _default_gateway(method: str) -> str:
    if method in IN_PERSON:
        return "manual"
    if method in LEDGER_GATEWAYS:
        return LEDGER_GATEWAYS[method]
    return str(setting("PAYMENT_GATEWAY"))


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
    amount = _amount_check(payment.amount if amount is None else amount, payment.currency)
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    request_hash = _request_hash(action="capture", payment=payment.pk, amount=str(amount))

    def claim() -> PaymentOperation:
        with transaction.atomic():
            order_lock(payment.order_id)
            locked = _payment_lock(payment.pk)
            if locked.status != PS.AUTHORISED or _open_claim(locked, (K.CAPTURE, K.VOID)):
                raise PaymentStateInvalid(
                    payment_id=locked.pk, status=locked.status, action="captured"
                )
            if amount > locked.amount:
                raise PaymentExceedsDue(
                    amount=amount, outstanding=locked.amount, currency=locked.currency
                )
            return Op.objects.create(
                payment=locked,
                kind=K.CAPTURE,
                status=OPS.PENDING,
                amount=amount,
                currency=locked.currency,
                idempotency_key=key,
                request_hash=request_hash,
                created_by=acting_user(user),
            )

    answer = _idempotent(key=key, request_hash=request_hash, claim=claim)
    if answer.status == OPS.FAILED:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return Payment.objects.get(pk=payment.pk)


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
    amount = _amount_check(amount, payment.currency)
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    request_hash = _request_hash(
        action="refund", payment=payment.pk, amount=str(amount), reason=reason
    )

    def claim() -> PaymentOperation:
        with transaction.atomic():
            order_lock(payment.order_id)
            locked = _payment_lock(payment.pk)
            if locked.status not in (PS.CAPTURED, PS.PARTIALLY_REFUNDED):
                raise PaymentStateInvalid(
                    payment_id=locked.pk, status=locked.status, action="refunded"
                )
            refundable = locked.refundable_amount - _refunds_in_flight(locked)
            if amount > refundable:
                raise RefundExceedsCaptured(
                    amount=amount, refundable=refundable, currency=locked.currency
                )
            # Refunds made to another method (payments.refund_methods) count too.
            order_refundable = order_refundable_amount(locked.order)
            if amount > order_refundable:
                raise RefundExceedsPaid(
                    amount=amount, refundable=order_refundable, currency=locked.currency
                )
            return Op.objects.create(
                payment=locked,
                kind=K.REFUND,
                status=OPS.PENDING,
                amount=amount,
                currency=locked.currency,
                idempotency_key=key,
                request_hash=request_hash,
                reason=reason[:255],
                created_by=acting_user(user),
            )

    answer = _idempotent(key=key, request_hash=request_hash, claim=claim)
    if answer.status == OPS.FAILED:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return answer


def _refunds_in_flight(payment: Payment) -> Decimal:
    return payment.operations.filter(
        kind=K.REFUND, status=OPS.PENDING, resolves__isnull=True
    ).exclude(outcomes__status__in=FINAL).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def payment_void(
    *,
    payment: Payment,
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
) -> Payment:
    """Release an authorisation that will not be captured."""
    if payment.method in PART_CHARGED:  # released by payment_remainder_release
        raise PaymentStateInvalid(payment_id=payment.pk, status=payment.status, action="voided")
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    request_hash = _request_hash(action="void", payment=payment.pk)

    def claim() -> PaymentOperation:
        with transaction.atomic():
            order_lock(payment.order_id)
            locked = _payment_lock(payment.pk)
            if locked.status != PS.AUTHORISED or _open_claim(locked, (K.CAPTURE, K.VOID)):
                raise PaymentStateInvalid(
                    payment_id=locked.pk, status=locked.status, action="voided"
                )
            return Op.objects.create(
                payment=locked,
                kind=K.VOID,
                status=OPS.PENDING,
                amount=locked.amount,
                currency=locked.currency,
                idempotency_key=key,
                request_hash=request_hash,
                created_by=acting_user(user),
            )

    answer = _idempotent(key=key, request_hash=request_hash, claim=claim)
    if answer.status == OPS.FAILED:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
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
    amount = _amount_check(amount, payment.currency)
    request_hash = _request_hash(action="charge", payment=payment.pk, amount=str(amount))

    def claim() -> PaymentOperation:
        with transaction.atomic():
            order_lock(payment.order_id)
            locked = _payment_lock(payment.pk)
            if locked.status not in OPEN:
                raise PaymentStateInvalid(
                    payment_id=locked.pk, status=locked.status, action="charged"
                )
            in_flight = locked.operations.filter(
                kind=K.CAPTURE, status=OPS.PENDING, resolves__isnull=True
            ).exclude(outcomes__status__in=FINAL).aggregate(total=Sum("amount"))[
                "total"
            ] or Decimal(0)
            left = locked.amount - locked.captured_amount - in_flight
            if amount > left:
                raise PaymentExceedsDue(amount=amount, outstanding=left, currency=locked.currency)
            return Op.objects.create(
                payment=locked,
                kind=K.CAPTURE,
                status=OPS.PENDING,
                amount=amount,
                currency=locked.currency,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                reason=reason[:255],
                created_by=acting_user(user),
            )

    answer = _idempotent(key=idempotency_key, request_hash=request_hash, claim=claim)
    if answer.status == OPS.FAILED:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return answer


@transaction.atomic
def payment_mandate_record(
    *, payment: Payment, reason: str, user: AbstractBaseUser | None = None
) -> Payment:
    """A part-charged payment whose first part is due later (a deferred plan): nothing is
    charged now, the saved payment method is the authority to charge later. Appends an
    authorise operation (no provider call) and makes the payment authorised. Idempotent."""
    order = order_lock(payment.order_id)
    locked = _payment_lock(payment.pk)
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
        _payment_update(locked, status=PS.AUTHORISED)
        order_payment_recompute(order, actor=user)
    return locked


@transaction.atomic
def payment_remainder_release(
    *, payment: Payment, reason: str, user: AbstractBaseUser | None = None
) -> Payment:
    """Stop expecting the rest of a part-charged payment (a defaulted or cancelled plan):
    a void operation for what was not charged; the payment ends captured for what was
    (voided when nothing was), and the order owes the rest again. Idempotent."""
    order = order_lock(payment.order_id)
    locked = _payment_lock(payment.pk)
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
    _payment_update(locked, status=PS.CAPTURED if locked.captured_amount > 0 else PS.VOIDED)
    order_payment_recompute(order, actor=user)
    return locked


def payment_key_lock(key: str):
    """The advisory lock that serialises the calls made with one idempotency key (for
    services that wrap several operations under one caller key, e.g. instalment plans)."""
    return _key_lock(key)


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
            with _key_lock(claim.idempotency_key):
                if claim.outcomes.exists():
                    continue
                _call_and_record(claim)
                settled += 1
        except (PaymentGatewayUnavailable, PaymentInProgress) as exc:
            logger.warning("payment claim %s not resumed: %s", claim.pk, exc.code)
    return settled


# --- provider webhooks


@dataclass(frozen=True)
class WebhookOutcome:
    """``processed`` (applied, or nothing left to do), ``duplicate`` (seen before),
    ``unmatched`` (no payment with that reference yet: kept and applied when the payment's
    outcome is recorded) or ``ignored`` (a type we do not act on)."""

    result: str
    event: ProviderEvent


def provider_event_process(
    *, gateway: str, body: bytes, headers: Mapping[str, str]
) -> WebhookOutcome:
    """Verify, deduplicate and apply one provider webhook. A bad signature (or one too
    old: a replay) raises ``WebhookSignatureInvalid`` and changes nothing; the same event
    id again answers ``duplicate`` and changes nothing."""
    gw = gateway_get(gateway)
    try:
        event = gw.webhook_parse(body=body, headers=headers)
    except SignatureInvalid as exc:
        raise WebhookSignatureInvalid(gateway=gateway, reason=exc.message) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookPayloadInvalid(gateway=gateway, reason=str(exc)[:200]) from None
    seen = ProviderEvent.objects.filter(gateway=gateway, event_id=event.event_id).first()
    if seen is not None and seen.processed_at is not None:
        return WebhookOutcome("duplicate", seen)
    with transaction.atomic():
        if event.reference:
            _reference_lock(gateway, event.reference)
        payment = (
            Payment.objects.filter(gateway=gateway, provider_reference=event.reference).first()
            if event.reference
            else None
        )
        order = order_lock(payment.order_id) if payment is not None else None
        if payment is not None:
            payment = _payment_lock(payment.pk)
        row, _created = ProviderEvent.objects.get_or_create(
            gateway=gateway,
            event_id=event.event_id,
            defaults={
                "type": event.provider_type or event.type,
                "provider_reference": event.reference,
                "payload": dict(event.payload),
                "signature_verified": True,
            },
        )
        row = ProviderEvent.objects.select_for_update().get(pk=row.pk)
        if row.processed_at is not None:
            return WebhookOutcome("duplicate", row)
        if event.type == "ignored":
            _event_done(row, "ignored")
            return WebhookOutcome("ignored", row)
        if payment is None:
            _event_done(row, "unmatched", processed=False)
            return WebhookOutcome("unmatched", row)
        result = _event_apply(event, row, payment)
        order_payment_recompute(order)
    return WebhookOutcome(result, row)


def _event_done(row: ProviderEvent, result: str, *, processed: bool = True) -> None:
    row.result = result
    row.processed_at = timezone.now() if processed else None
    row.save(update_fields=["result", "processed_at"])


def _event_apply(event: WebhookEvent, row: ProviderEvent, payment: Payment) -> str:
    """Apply a verified event to a locked payment (at most once: the row is marked)."""
    common = {"payment": payment, "currency": payment.currency, "provider_event": row}
    if payment.method in PART_CHARGED and event.type.startswith("payment."):
        # One payment, several charges: an event only settles the charge it names.
        _part_event_apply(event, payment, common)
        _event_done(row, "processed")
        return "processed"
    if event.type in (
        "payment.succeeded",
        "payment.authorised",
        "payment.failed",
        "payment.canceled",
    ):
        if payment.status not in OPEN:  # already settled: nothing to change
            _event_done(row, "processed")
            return "processed"
        claim = _open_claim(payment, (K.CAPTURE, K.AUTHORISE))
        common.update(resolves=claim, provider_reference=event.reference)
        if event.type == "payment.succeeded":
            amount = min(event.amount or payment.amount, payment.amount)
            Op.objects.create(kind=K.CAPTURE, status=OPS.SUCCEEDED, amount=amount, **common)
            if event.card_last4:
                _payment_update(
                    payment, card_brand=event.card_brand[:30], card_last4=event.card_last4[-4:]
                )
            _capture_apply(payment, amount)
        elif event.type == "payment.authorised":
            if payment.status == PS.PENDING:
                Op.objects.create(
                    kind=K.AUTHORISE, status=OPS.SUCCEEDED, amount=payment.amount, **common
                )
                _payment_update(payment, status=PS.AUTHORISED)
        elif event.type == "payment.failed":
            Op.objects.create(
                kind=K.FAILURE,
                status=OPS.FAILED,
                amount=payment.amount,
                error_code=event.error_code[:100],
                error_message=event.error_message[:255],
                **common,
            )
            _payment_update(payment, status=PS.FAILED)
        else:
            Op.objects.create(kind=K.VOID, status=OPS.SUCCEEDED, amount=payment.amount, **common)
            _payment_update(payment, status=PS.VOIDED)
    elif event.type in ("refund.succeeded", "refund.failed"):
        _refund_event_apply(event, payment, common)
    _event_done(row, "processed")
    return "processed"


def _part_event_apply(event: WebhookEvent, payment: Payment, common: dict[str, Any]) -> None:
    pending = (
        payment.operations.filter(
            kind=K.CAPTURE,
            status=OPS.PENDING,
            resolves__isnull=False,
            provider_reference=event.reference,
        )
        .exclude(resolves__outcomes__status__in=FINAL)
        .select_related("resolves")
        .first()
    )
    if pending is None:  # a charge already settled (or not ours): nothing to change
        return
    claim = pending.resolves
    common = {**common, "resolves": claim, "provider_reference": event.reference}
    if event.type == "payment.succeeded":
        Op.objects.create(kind=K.CAPTURE, status=OPS.SUCCEEDED, amount=claim.amount, **common)
        _capture_apply(payment, claim.amount)
    elif event.type in ("payment.failed", "payment.canceled"):
        Op.objects.create(
            kind=K.CAPTURE,
            status=OPS.FAILED,
            amount=claim.amount,
            error_code=(event.error_code or "payment_failed")[:100],
            error_message=event.error_message[:255],
            **common,
        )


def _refund_event_apply(event: WebhookEvent, payment: Payment, common: dict[str, Any]) -> None:
    refunds = payment.operations.filter(kind=K.REFUND, provider_reference=event.refund_reference)
    if not event.refund_reference or refunds.filter(status__in=FINAL).exists():
        return
    pending = refunds.filter(status=OPS.PENDING, resolves__isnull=False).first()
    common = {**common, "provider_reference": event.refund_reference}
    if event.type == "refund.failed":
        if pending is not None:
            Op.objects.create(
                kind=K.REFUND,
                status=OPS.FAILED,
                amount=pending.amount,
                resolves=pending.resolves,
                error_code=event.error_code[:100] or "refund_failed",
                **common,
            )
        return
    if pending is not None:
        amount = pending.amount
        Op.objects.create(
            kind=K.REFUND, status=OPS.SUCCEEDED, amount=amount, resolves=pending.resolves, **common
        )
    else:  # a refund made at the provider (its dashboard): recorded if it fits
        amount = event.amount or Decimal(0)
        if amount <= 0 or amount > payment.refundable_amount:
            return
        Op.objects.create(kind=K.REFUND, status=OPS.SUCCEEDED, amount=amount, **common)
    _refund_apply(payment, amount)


def _unmatched_events_apply(*, gateway: str, reference: str, order: Order) -> None:
    """Events that arrived before we knew the payment's reference (a fast provider)."""
    payment = Payment.objects.filter(gateway=gateway, provider_reference=reference).first()
    if payment is None:
        return
    rows = ProviderEvent.objects.select_for_update().filter(
        gateway=gateway, provider_reference=reference, processed_at__isnull=True
    )
    gw = gateway_get(gateway)
    applied = False
    for row in rows.order_by("id"):
        try:
            event = gw.event_read(row.payload)
        except (ValueError, KeyError, TypeError):
            continue
        _event_apply(event, row, _payment_lock(payment.pk))
        applied = True
    if applied:
        order_payment_recompute(order)


__all__ = [
    "ORDER_PAID",
    "PAYMENT_CAPTURED",
    "PAYMENT_REFUNDED",
    "WebhookOutcome",
    "order_outstanding_amount",
    "order_payment_recompute",
    "order_payment_status_derived",
    "order_payment_totals",
    "order_refundable_amount",
    "payment_capture",
    "payment_charge",
    "payment_claims_resume",
    "payment_key_lock",
    "payment_mandate_record",
    "payment_refund",
    "payment_remainder_release",
    "payment_start",
    "payment_void",
    "provider_event_process",
]
