"""Settling a return: the money side of goods brought back (orders records the goods).

``orders.services.returns.return_create`` records a return with its outcome and a
pending settlement; ``return_settle`` moves the money and marks it settled:

- ``refund``: back to the order's original payments, newest captured first, each for
  what it can still give back, until the return's amount is covered
  (``payments.operations.payment_refund``); or, with ``method`` (cash or a card terminal
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

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order, OrderEvent, Return
from orders.states import order_event_record
from payments.exceptions import RefundExceedsPaid
from payments.models import Payment, PaymentOperation
from payments.operations import (
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
    return f"return {ret}"


def _refunded_for(ret: Return) -> Decimal:
    """What was already given back for this return: its refund claims (and refunds to
    another method, which are one succeeded row), less those that failed."""
    return Op.objects.filter(
        payment__order_id=ret.order_id,
        kind=K.REFUND,
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


def _to_original_payments(
    *, ret: Return, amount: Decimal, user, key: str
) -> list[PaymentOperation]:
    """``amount`` back to the order's captured payments, newest first, partial as needed."""
    payments = list(
        Payment.objects.filter(
            order_id=ret.order_id,
            status__in=[Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED],
        ).order_by("-created_at", "-id")
    )
    room = {p.pk: p.refundable_amount - _in_flight(p) for p in payments}
    order_room = order_refundable_amount(ret.order)
    if amount > min(sum(room.values(), Decimal(0)), order_room):
        # Checked before any money moves: a return the payments cannot cover is refused
        # whole (settle it by another method, e.g. cash at the till).
        raise RefundExceedsPaid(
            amount=amount,
            refundable=max(min(sum(room.values(), Decimal(0)), order_room), Decimal(0)),
            currency=ret.currency,
        )
    operations, left = [], amount
    for payment in payments:
        part = min(left, room[payment.pk])
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
                "payments": sorted({op.payment_id for op in operations}),
                "idempotency_key": key,
            },
            actor=user,
        )
    return locked


__all__ = ["ReturnAlreadySettled", "ReturnSettleMethodInvalid", "return_settle"]
