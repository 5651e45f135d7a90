"""Settling a return: the money side of goods brought back (orders records the goods).

``orders.services.returns.return_create`` records a return with its outcome and a
pending settlement; ``return_settle`` moves the money and marks it settled:

- ``refund``: back to the order's original payments: first taken off what a running
  instalment plan still has to collect (its last parts first,
  ``payments.instalments.instalment_plan_reduce``: the customer owes less and no money
  moves), then refunded to the captured payments, newest first, each for what it can
  still give back (an instalment plan: what it charged), until the return's amount is
  covered (``payments.operations.payment_refund``); or, with ``method`` (cash or a card terminal
  at the till, e.g. a web order returned in a store), by that method
  (``payments.refund_methods.refund_to_method``);
- ``store_credit``: ``refund_to_method(method="store_credit")``, crediting the order's
  customer (the handler is loyalty's, registered by ``unicommerce.wiring``);
- ``exchange``: nothing to move (the new goods are another order); settled with a note.

Then the return is settled and the order's timeline says how. Calls for one return are
serialised by an advisory lock (no row lock is held while a provider is called), and the
refunds already made for the return (operations whose reason names it) are deducted, so
settling never gives back more than the return's amount, whatever the retries. The
caller's idempotency key derives the key of every refund it makes: the same key again
answers the settled return; another key on a settled return is refused
(``return_already_settled``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order, OrderEvent, Return
from orders.states import order_event_record
from payments.exceptions import RefundExceedsPaid
from payments.instalments import instalment_plan_reduce, instalment_plan_reducible
from payments.models import Instalment, InstalmentPlan, Payment, PaymentOperation
from payments.operations import (
    RETURN_REASON_PREFIX,
    order_refundable_amount,
    payment_key_lock,
    payment_refund,
)
from payments.refund_methods import refund_to_method
from unicommerce.exceptions import DomainError, InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Op = PaymentOperation
K = PaymentOperation.Kind
OPS = PaymentOperation.Status
SETTLED_EVENT = "return_settled"


class ReturnAlreadySettled(DomainError):
    code = "return_already_settled"
    http_status = 409

    def __init__(self, *, ret: Return) -> None:
        super().__init__(
            _("Return %(return)s is already settled.") % {"return": str(ret)}, return_id=ret.pk
        )


class ReturnSettleMethodInvalid(InvalidInput):
    code = "return_settle_method_invalid"

    def __init__(self, *, outcome: str, method: str) -> None:
        super().__init__(
            _("A return settled as “%(outcome)s” cannot be paid out by “%(method)s”.")
            % {"outcome": outcome, "method": method},
            outcome=outcome,
            method=method,
        )


def _tag(ret: Return) -> str:
    """The reason written on the return's refunds (how they are found again)."""
    return f"{RETURN_REASON_PREFIX}{ret}"


def _refunded_for(ret: Return) -> Decimal:
    """What was already given back for this return: its refund claims (and refunds to
    another method, which are one succeeded row), less those that failed, and what it
    took off instalments still due (a succeeded void)."""
    return Op.objects.filter(
        payment__order_id=ret.order_id,
        kind__in=[K.REFUND, K.VOID],
        resolves__isnull=True,
        reason=_tag(ret),
    ).exclude(status=OPS.FAILED).exclude(outcomes__status=OPS.FAILED).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)


def _settle_event(ret: Return) -> OrderEvent | None:
    return (
        OrderEvent.objects.filter(order_id=ret.order_id, kind=SETTLED_EVENT, data__return=ret.pk)
        .order_by("-id")
        .first()
    )


def _running_plans(order_id: int) -> list[InstalmentPlan]:
    """The order's instalment plans still collecting, newest first."""
    return list(
        InstalmentPlan.objects.select_related("payment")
        .filter(
            payment__order_id=order_id,
            payment__status__in=[Payment.Status.PENDING, Payment.Status.AUTHORISED],
            status__in=[InstalmentPlan.Status.ACTIVE, InstalmentPlan.Status.LATE],
        )
        .order_by("-payment__created_at", "-payment_id")
    )


def _refundable_payments(order_id: int, plans: list[InstalmentPlan]) -> list[Payment]:
    """The payments money can go back to, newest first: those captured, and the
    instalment plans that will be once relieved of their parts still due (not one being
    charged right now: its outcome is not known yet)."""
    plan_payments = {
        plan.payment_id
        for plan in plans
        if not plan.parts.filter(status=Instalment.Status.PROCESSING).exists()
    }
    return list(
        Payment.objects.filter(order_id=order_id)
        .filter(
            Q(status__in=[Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED])
            | Q(pk__in=plan_payments, captured_amount__gt=0)
        )
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class OriginalPayments:
    """What the order's own payments can give back for a return: ``taken_off`` the
    instalments still due (the customer owes less: nothing moves) then ``refundable``
    (money back to the payments captured)."""

    taken_off: Decimal
    refundable: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.taken_off + self.refundable


def original_payments_capacity(order: Order) -> OriginalPayments:
    """How much a return of ``order`` can be given back to its original payments (see
    ``_to_original_payments``): the till offers that way first when it covers the return."""
    plans = _running_plans(order.pk)
    payments = _refundable_payments(order.pk, plans)
    taken_off = sum((instalment_plan_reducible(plan) for plan in plans), Decimal(0))
    room = sum((p.refundable_amount - _in_flight(p) for p in payments), Decimal(0))
    refundable = max(min(room, order_refundable_amount(order)), Decimal(0))
    return OriginalPayments(taken_off=taken_off, refundable=refundable, currency=order.currency)


def return_original_payments_cover(ret: Return) -> bool:
    """Whether what is left to give back for ``ret`` can go to the order's own payments."""
    left = ret.amount - _refunded_for(ret)
    return left > 0 and original_payments_capacity(ret.order).total >= left


def _to_original_payments(
    *, ret: Return, amount: Decimal, user, key: str
) -> list[PaymentOperation]:
    """``amount`` back to the order's own payments. First taken off what running
    instalment plans still have to collect (their last parts first: the customer owes
    less, no money moves), then refunded to the captured payments, newest first, each for
    what it can still give back (an instalment plan for what it has charged), partial as
    needed. Checked whole before anything changes."""
    capacity = original_payments_capacity(ret.order)
    if amount > capacity.total:
        # Checked before any money moves: a return the payments cannot cover is refused
        # whole (settle it by another method, e.g. cash at the till).
        raise RefundExceedsPaid(amount=amount, refundable=capacity.total, currency=ret.currency)
    operations, left = [], amount
    for plan in _running_plans(ret.order_id):
        if left <= 0:
            break
        void = instalment_plan_reduce(plan=plan, amount=left, reason=_tag(ret), user=user)
        if void is not None:
            operations.append(void)
            left -= void.amount
    if left <= 0:
        return operations
    payments = _refundable_payments(ret.order_id, [])
    for payment in payments:
        part = min(left, payment.refundable_amount - _in_flight(payment))
        if part <= 0:
            continue
        operations.append(
            payment_refund(
                payment=payment,
                amount=part,
                idempotency_key=f"{key}:payment:{payment.pk}",
                reason=_tag(ret),
                user=user,
            )
        )
        left -= part
        if left <= 0:
            break
    return operations


def _in_flight(payment: Payment) -> Decimal:
    return payment.operations.filter(
        kind=K.REFUND, status=OPS.PENDING, resolves__isnull=True
    ).exclude(outcomes__status__in=[OPS.SUCCEEDED, OPS.FAILED]).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)


def return_settle(
    *,
    ret: Return,
    user: AbstractBaseUser | None = None,
    method: str | None = None,
    idempotency_key: str,
) -> Return:
    """Pay out a return as its outcome says (see the module) and mark it settled.

    ``method`` only for a refund outcome (``cash``, ``card_terminal``…; ``store_credit``
    is accepted for the store credit outcome, where it is the default). Refuses a return
    already settled by another call (``return_already_settled``), a refund the order's
    payments cannot cover (``refund_exceeds_paid``, nothing moved), store credit for an
    order without a customer (``store_credit_needs_customer``). Call it outside any
    transaction (refunds may call a provider).
    """
    method = str(method) if method else None
    outcome = ret.outcome
    if outcome == Return.Outcome.STORE_CREDIT and method not in (None, "store_credit"):
        raise ReturnSettleMethodInvalid(outcome=outcome, method=method)
    if outcome == Return.Outcome.EXCHANGE and method:
        raise ReturnSettleMethodInvalid(outcome=outcome, method=method)
    with payment_key_lock(f"return-settle:{ret.pk}"):
        ret = Return.objects.select_related("order").get(pk=ret.pk)
        if ret.settlement == Return.Settlement.SETTLED:
            event = _settle_event(ret)
            if event is not None and event.data.get("idempotency_key") == idempotency_key:
                return ret  # the same call again: the same answer
            raise ReturnAlreadySettled(ret=ret)
        left = ret.amount - _refunded_for(ret)
        operations: list[PaymentOperation] = []
        if outcome != Return.Outcome.EXCHANGE and left > 0:
            if outcome == Return.Outcome.STORE_CREDIT or method:
                operations.append(
                    refund_to_method(
                        order=ret.order,
                        amount=left,
                        method=method or "store_credit",
                        user=user,
                        idempotency_key=f"{idempotency_key}:method",
                        reason=_tag(ret),
                    )
                )
            else:
                operations = _to_original_payments(
                    ret=ret, amount=left, user=user, key=idempotency_key
                )
        return _settled(
            ret=ret, user=user, method=method, operations=operations, key=idempotency_key
        )


def _settled(
    *,
    ret: Return,
    user,
    method: str | None,
    operations: list[PaymentOperation],
    key: str,
) -> Return:
    taken_off = sum((op.amount for op in operations if op.kind == K.VOID), Decimal(0))
    refunded = sum((op.amount for op in operations if op.kind == K.REFUND), Decimal(0))
    with transaction.atomic():
        order: Order = order_lock(ret.order_id)
        locked = Return.objects.select_for_update().get(pk=ret.pk)
        if locked.settlement == Return.Settlement.SETTLED:  # pragma: no cover - serialised
            raise ReturnAlreadySettled(ret=locked)
        locked.settlement = Return.Settlement.SETTLED
        locked.save(update_fields=["settlement"])
        if locked.outcome == Return.Outcome.EXCHANGE:
            message = _("Return %(return)s settled as an exchange: no money moved.") % {
                "return": str(locked)
            }
        elif locked.outcome == Return.Outcome.STORE_CREDIT:
            message = _("Return %(return)s settled: %(amount)s given as store credit.") % {
                "return": str(locked),
                "amount": locked.amount,
            }
        elif taken_off > 0:
            message = _(
                "Return %(return)s settled: %(taken_off)s taken off the instalments still "
                "due, %(refunded)s refunded."
            ) % {
                "return": str(locked),
                "taken_off": taken_off,
                "refunded": refunded,
            }
        else:
            message = _("Return %(return)s settled: %(amount)s refunded.") % {
                "return": str(locked),
                "amount": locked.amount,
            }
        order_event_record(
            order=order,
            kind=SETTLED_EVENT,
            message=message,
            data={
                "return": locked.pk,
                "outcome": locked.outcome,
                "amount": str(locked.amount),
                "currency": locked.currency,
                "method": method or "",
                "operations": [op.pk for op in operations],
                "taken_off": str(taken_off),
                "payments": sorted({op.payment_id for op in operations}),
                "idempotency_key": key,
            },
            actor=user,
        )
    return locked


__all__ = [
    "OriginalPayments",
    "ReturnAlreadySettled",
    "ReturnSettleMethodInvalid",
    "original_payments_capacity",
    "return_original_payments_cover",
    "return_settle",
]
