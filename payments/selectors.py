"""Payments' reads: what the order has paid and may still pay or get back, derived from
the operations ledger, and a payment link as it stands now. Nothing here writes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from orders.models import Order, Return
from payments.conf import setting
from payments.exceptions import PaymentLinkNotFound
from payments.models import (
    FINAL,
    LINK_LIVE,
    LINK_PAYMENT_HOLDS,
    OPEN,
    RETURN_REASON_PREFIX,
    SETTLED,
    Instalment,
    InstalmentPlan,
    Payment,
    PaymentLink,
    PaymentOperation,
)
from unicommerce.messaging.models import Message

Op = PaymentOperation
K = PaymentOperation.Kind
OPS = PaymentOperation.Status
LS = PaymentLink.Status
PS = Payment.Status
PlanStatus = InstalmentPlan.Status
PartStatus = Instalment.Status
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")


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


def order_committed_by_plans(order: Order) -> Decimal:
    """What running instalment plans (active or late, first part taken or, for deferred
    plans, the mandate given) have still to collect: the customer has paid *by* the plan,
    as a buy-now-pay-later provider would settle the merchant. A defaulted or cancelled
    plan releases its remainder, and the order owes it again."""
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
    committed = order_committed_by_plans(order)
    if refunded > 0 or taken_off > 0:
        return (S.REFUNDED if net + committed <= 0 else S.PARTIALLY_REFUNDED), net
    covered = net + committed
    if covered >= order.total_amount and (covered > 0 or order.total_amount == 0):
        return S.PAID, net
    if net > 0:
        return S.PARTIALLY_PAID, net
    return S.UNPAID, net


def payment_open_claim(payment: Payment, kinds: tuple[str, ...]) -> PaymentOperation | None:
    """The payment's claim of one of ``kinds`` that has no final outcome yet."""
    return (
        payment.operations.filter(kind__in=kinds, status=OPS.PENDING, resolves__isnull=True)
        .exclude(outcomes__status__in=FINAL)
        .order_by("id")
        .first()
    )


def payment_refunds_in_flight(payment: Payment) -> Decimal:
    """The payment's refunds claimed and still waiting for an answer."""
    return payment.operations.filter(
        kind=K.REFUND, status=OPS.PENDING, resolves__isnull=True
    ).exclude(outcomes__status__in=FINAL).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def order_payment_in_flight(order_id: int) -> bool:
    """Is a payment of this order under way: a payment the provider has not settled yet
    (pending, or authorised and not captured), or a payment link the customer may be
    paying now? (orders cancels unpaid orders only when not: orders.services.expiry)"""
    waiting = Payment.objects.filter(
        order_id=order_id, status__in=[Payment.Status.PENDING, Payment.Status.AUTHORISED]
    )
    links = PaymentLink.objects.filter(
        Q(expires_at__gt=timezone.now()), order_id=order_id, status__in=LINK_LIVE
    )
    return waiting.exists() or links.exists()


# --- payment links


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def payment_link_url(token: str) -> str:
    """The absolute address of the pay page for ``token`` (``PUBLIC_BASE_URL``)."""
    try:
        path = reverse("pay:page", args=[token])
    except NoReverseMatch:  # the pay page is not mounted (a test URLconf): its usual place
        path = f"/pay/{token}/"
    return str(setting("PUBLIC_BASE_URL")).rstrip("/") + path


def _plan_live(payment: Payment) -> bool:
    return (
        InstalmentPlan.objects.filter(payment=payment)
        .exclude(status=InstalmentPlan.Status.CANCELLED)
        .exists()
    )


def payment_link_paid_by(payment: Payment | None) -> bool:
    """Whether a payment has paid its link: captured; or a plan (not cancelled) whose
    first part is paid, or a deferred plan whose mandate is recorded (authorised)."""
    if payment is None:
        return False
    if payment.method == Payment.Method.INSTALMENT:
        return (payment.captured_amount > 0 or payment.status == PS.AUTHORISED) and _plan_live(
            payment
        )
    return payment.status in SETTLED


def payment_link_payment_holds(link: PaymentLink) -> bool:
    """Whether the link's payment is paid or may still be (then no other may start)."""
    payment = link.payment if link.payment_id else None
    if payment is None or payment.status not in LINK_PAYMENT_HOLDS:
        return False
    return payment.method != Payment.Method.INSTALMENT or _plan_live(payment)


def payment_link_sms_status(link: PaymentLink) -> str | None:
    """The status of the link's last SMS (queued, sending, sent, failed), or None."""
    if link.message_id is None:
        return None
    return Message.objects.filter(pk=link.message_id).values_list("status", flat=True).first()


def payment_link_get(*, token: str) -> PaymentLink:
    """The link of ``token`` whatever its state (as it stands now: see
    ``payment_link_current``), or ``payment_link_not_found``."""
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        raise PaymentLinkNotFound()
    link = (
        PaymentLink.objects.select_related("order", "payment", "channel")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        raise PaymentLinkNotFound()
    return payment_link_current(link)


def payment_link_current(link: PaymentLink) -> PaymentLink:
    """``link`` as it stands now, without writing anything: paid once its payment is
    confirmed (a webhook's capture is recorded on the link by the ``payment.captured``
    subscriber), sent once the worker has sent its SMS (recorded by the ``message.sent``
    subscriber and the beat), expired once its time is up (recorded by the beat). The
    instance is brought in line in memory; callers that write use
    ``payments.services.links.payment_link_sync`` under the link's lock."""
    if link.status != LS.PAID and link.payment_id is not None:
        payment = Payment.objects.get(pk=link.payment_id)
        link.payment = payment
        if payment_link_paid_by(payment):
            link.status = LS.PAID
            link.paid_at = link.paid_at or payment.updated_at
            return link
    if link.status == LS.CREATED and link.message_id is not None:
        sent_at = (
            Message.objects.filter(pk=link.message_id, status=Message.Status.SENT)
            .values_list("sent_at", flat=True)
            .first()
        )
        if sent_at is not None:
            link.status, link.sent_at = LS.SENT, sent_at
    if link_time_up(link):
        link.status = LS.EXPIRED
    return link


def link_time_up(link: PaymentLink) -> bool:
    """Whether a live link's time is up with no payment holding it (it is expired)."""
    return (
        link.status in LINK_LIVE
        and link.expires_at <= timezone.now()
        and not payment_link_payment_holds(link)
    )


# --- returns: what the order's own payments can give back


def instalment_plan_reducible(plan: InstalmentPlan) -> Decimal:
    """What a running plan may still be relieved of: its parts not yet charged nor being
    charged (scheduled, or waiting for a retry)."""
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.LATE):
        return Decimal(0)
    return sum(
        plan.parts.filter(status__in=[PartStatus.SCHEDULED, PartStatus.RETRYING]).values_list(
            "amount", flat=True
        ),
        Decimal(0),
    )


def return_refund_reason(ret: Return) -> str:
    """The reason written on the return's refunds (how they are found again)."""
    return f"{RETURN_REASON_PREFIX}{ret}"


def return_refunded_amount(ret: Return) -> Decimal:
    """What was already given back for this return: its refund claims (and refunds to
    another method, which are one succeeded row), less those that failed, and what it
    took off instalments still due (a succeeded void)."""
    return Op.objects.filter(
        payment__order_id=ret.order_id,
        kind__in=[K.REFUND, K.VOID],
        resolves__isnull=True,
        reason=return_refund_reason(ret),
    ).exclude(status=OPS.FAILED).exclude(outcomes__status=OPS.FAILED).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)


def order_running_plans(order_id: int) -> list[InstalmentPlan]:
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


def order_refundable_payments(order_id: int, plans: list[InstalmentPlan]) -> list[Payment]:
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
    plans = order_running_plans(order.pk)
    payments = order_refundable_payments(order.pk, plans)
    taken_off = sum((instalment_plan_reducible(plan) for plan in plans), Decimal(0))
    room = sum((p.refundable_amount - payment_refunds_in_flight(p) for p in payments), Decimal(0))
    refundable = max(min(room, order_refundable_amount(order)), Decimal(0))
    return OriginalPayments(taken_off=taken_off, refundable=refundable, currency=order.currency)


def return_original_payments_cover(ret: Return) -> bool:
    """Whether what is left to give back for ``ret`` can go to the order's own payments."""
    left = ret.amount - return_refunded_amount(ret)
    return left > 0 and original_payments_capacity(ret.order).total >= left
