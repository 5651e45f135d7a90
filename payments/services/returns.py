"""Settling a return: the money side of goods brought back (orders records the goods).

``orders.services.returns.return_create`` records a return with its outcome and a
pending settlement; ``return_settle`` moves the money and marks it settled:

- ``refund``: back to the order's original payments: first taken off what a running
  instalment plan still has to collect (its last parts first,
  ``services.instalments.instalment_plan_reduce``: the customer owes less and no money
  moves), then refunded to the captured payments, newest first, each for what it can
  still give back (an instalment plan: what it charged), until the return's amount is
  covered (``payments.services.refund.payment_refund``); or, with ``method`` (cash or a
  card terminal at the till, e.g. a web order returned in a store), by that method
  (``payments.services.refund_methods.refund_to_method``);
- ``store_credit``: ``refund_to_method(method="store_credit")``, crediting the order's
  customer (the handler, ``store_credit_refund``, credits loyalty's ledger);
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

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order, OrderEvent, Return
from orders.states import order_event_record
from payments.exceptions import ReturnAlreadySettled, ReturnSettleMethodInvalid, amount_limit_check
from payments.locks import payment_key_lock
from payments.models import PaymentOperation
from payments.selectors import (
    order_refundable_payments,
    order_running_plans,
    original_payments_capacity,
    payment_refunds_in_flight,
    return_refund_reason,
    return_refunded_amount,
)
from payments.services.instalments import instalment_plan_reduce
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_to_method

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Op = PaymentOperation
K = PaymentOperation.Kind
OPS = PaymentOperation.Status
SETTLED_EVENT = "return_settled"


def _settle_event(ret: Return) -> OrderEvent | None:
    return (
        OrderEvent.objects.filter(order_id=ret.order_id, kind=SETTLED_EVENT, data__return=ret.pk)
        .order_by("-id")
        .first()
    )


def _to_original_payments(
    *, ret: Return, amount: Decimal, user, key: str
) -> list[PaymentOperation]:
    """``amount`` back to the order's own payments. First taken off what running
    instalment plans still have to collect (their last parts first: the customer owes
    less, no money moves), then refunded to the captured payments, newest first, each for
    what it can still give back (an instalment plan for what it has charged), partial as
    needed. Checked whole before anything changes."""
    capacity = original_payments_capacity(ret.order)
    # Checked before any money moves: a return the payments cannot cover is refused
    # whole (settle it by another method, e.g. cash at the till).
    amount_limit_check(amount=amount, limit=capacity.total, rule="paid", currency=ret.currency)
    operations, left = [], amount
    for plan in order_running_plans(ret.order_id):
        if left <= 0:
            break
        void = instalment_plan_reduce(
            plan=plan, amount=left, reason=return_refund_reason(ret), user=user
        )
        if void is not None:
            operations.append(void)
            left -= void.amount
    if left <= 0:
        return operations
    payments = order_refundable_payments(ret.order_id, [])
    for payment in payments:
        part = min(left, payment.refundable_amount - payment_refunds_in_flight(payment))
        if part <= 0:
            continue
        operations.append(
            payment_refund(
                payment=payment,
                amount=part,
                idempotency_key=f"{key}:payment:{payment.pk}",
                reason=return_refund_reason(ret),
                user=user,
            )
        )
        left -= part
        if left <= 0:
            break
    return operations


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
        left = ret.amount - return_refunded_amount(ret)
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
                        reason=return_refund_reason(ret),
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
