"""Instalment plans: pay in 2, 3 or 4 monthly parts, or once 15 or 30 days later.

A plan is one ``Payment`` (method ``instalment``) for the whole amount, charged part by
part to the customer's saved payment method (the provider's token, never a card): each
part paid is a capture operation of that payment (``services.capture.payment_charge``),
so the order's payment status follows the ledger as for any other payment. The parts sum
exactly to the amount (the cents left over go on the first part).

- ``instalment_offers``: the plans a channel may offer for an amount (settings
  ``INSTALMENT_PLANS``), with their dated parts;
- ``instalment_plan_start``: the plan, its parts, and the first part charged now (a
  deferred plan charges nothing now); a declined first part leaves no plan (it is
  cancelled) and nothing charged;
- ``instalments_collect`` (beat, in ``payments.services.instalment_collection``):
  charges the parts that are due, one at a time, outside any transaction, with an
  idempotency key per part and attempt, so a crash or two collectors at once never
  charge a part twice; a declined part is retried after ``INSTALMENT_RETRY_DELAYS_DAYS``
  with an SMS to the customer, then fails and the plan defaults;
- ``instalment_reminders_send`` (beat): an SMS a few days before each due date.
"""

from __future__ import annotations

import calendar
import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.phones import phone_e164
from orders.locks import order_lock
from orders.models import Order
from payments.conf import setting
from payments.exceptions import (
    IdempotencyKeyReused,
    InstalmentDeclined,
    InstalmentPlanNotEligible,
    OrderNotPayable,
    PaymentCurrencyMismatch,
    PaymentDeclined,
    amount_limit_check,
)
from payments.locks import payment_key_lock, payment_lock
from payments.models import Instalment, InstalmentPlan, Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.capture import payment_charge, payment_mandate_record
from payments.services.common import amount_check, language_now, payment_update, token_check
from payments.services.ledger import order_payment_recompute
from payments.services.void import payment_remainder_release
from unicommerce.money import minor_unit, money_format

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

logger = logging.getLogger(__name__)

Kind = InstalmentPlan.Kind
PlanStatus = InstalmentPlan.Status
PartStatus = Instalment.Status

LABELS = {
    Kind.X2: gettext_lazy("Pay in 2 instalments"),
    Kind.X3: gettext_lazy("Pay in 3 instalments"),
    Kind.X4: gettext_lazy("Pay in 4 instalments"),
    Kind.D15: gettext_lazy("Pay in 15 days"),
    Kind.D30: gettext_lazy("Pay in 30 days"),
}


@dataclass(frozen=True)
class Offer:
    """A plan the customer may choose: its dated parts, and what is taken now."""

    kind: str
    label: str
    amount: Decimal
    currency: str
    parts: list[tuple[date, Decimal]]
    due_now: Decimal

    @property
    def deferred(self) -> bool:
        return self.due_now == 0


# --- schedule and eligibility


def _plan_config(kind: str) -> dict | None:
    plans = setting("INSTALMENT_PLANS") or {}
    return plans.get(str(kind))


def _add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def instalment_schedule(
    *, amount: Decimal, kind: str, start: date, currency: str = "EUR"
) -> list[tuple[date, Decimal]]:
    """The dated parts of a plan starting on ``start``; they sum exactly to ``amount``.

    Monthly plans: ``parts`` equal parts rounded down to the currency's minor unit, the
    remainder on the first, due on ``start`` then the same day of the following months
    (clamped to the month's end: 31 January, 28/29 February, 31 March). Deferred plans:
    one part, ``days`` after ``start``.
    """
    config = _plan_config(kind)
    if config is None:
        raise InstalmentPlanNotEligible(
            kind=str(kind), reason="unknown_kind", message=_("no such plan is offered.")
        )
    amount = amount_check(amount, currency)
    if config.get("days"):
        return [(start + timedelta(days=int(config["days"])), amount)]
    count = int(config["parts"])
    unit = minor_unit(currency)
    part = (amount / count).quantize(unit, rounding=ROUND_DOWN)
    if part <= 0:
        raise InstalmentPlanNotEligible(
            kind=str(kind), reason="amount_too_small", message=_("the amount is too small.")
        )
    first = amount - part * (count - 1)
    return [(_add_months(start, index), first if index == 0 else part) for index in range(count)]


def _ineligible_reason(
    kind: str, config: dict, amount: Decimal, currency: str, channel: SalesChannel | None
) -> InstalmentPlanNotEligible | None:
    language_amount = {"currency": currency}
    if currency not in config.get("currencies", ["EUR"]):
        return InstalmentPlanNotEligible(
            kind=kind,
            reason="currency_not_allowed",
            message=_("it is not offered in this currency."),
            **language_amount,
        )
    low, high = Decimal(str(config["min"])), Decimal(str(config["max"]))
    if amount < low:
        return InstalmentPlanNotEligible(
            kind=kind,
            reason="amount_below_minimum",
            message=_("the amount is below the minimum of %(min)s.")
            % {"min": money_format(low, currency, language_now())},
            minimum=str(low),
            amount=str(amount),
            **language_amount,
        )
    if amount > high:
        return InstalmentPlanNotEligible(
            kind=kind,
            reason="amount_above_maximum",
            message=_("the amount is above the maximum of %(max)s.")
            % {"max": money_format(high, currency, language_now())},
            maximum=str(high),
            amount=str(amount),
            **language_amount,
        )
    kinds = config.get("channel_kinds")
    if channel is not None and kinds is not None and channel.kind not in kinds:
        return InstalmentPlanNotEligible(
            kind=kind,
            reason="channel_not_allowed",
            message=_("it is not offered on this sales channel."),
            channel=channel.code,
        )
    return None


def instalment_eligibility_check(
    *, amount: Decimal, currency: str, kind: str, channel: SalesChannel | None
) -> None:
    """Raise ``InstalmentPlanNotEligible`` (with the reason) unless ``kind`` is offered
    for ``amount`` in ``currency`` on ``channel``."""
    config = _plan_config(kind)
    if config is None:
        raise InstalmentPlanNotEligible(
            kind=str(kind), reason="unknown_kind", message=_("no such plan is offered.")
        )
    error = _ineligible_reason(str(kind), config, amount, currency.upper(), channel)
    if error is not None:
        raise error


def instalment_offers(
    *,
    amount: Decimal,
    currency: str,
    channel: SalesChannel | None,
    start: date | None = None,
) -> list[Offer]:
    """The plans ``channel`` may offer for ``amount``, in the settings' order, each with
    its dated parts and what is taken now (nothing, for a deferred plan)."""
    currency = currency.upper()
    amount = amount_check(amount, currency)
    start = start or timezone.localdate()
    offers = []
    for kind, config in (setting("INSTALMENT_PLANS") or {}).items():
        if kind not in Kind.values:
            continue
        if _ineligible_reason(kind, config, amount, currency, channel) is not None:
            continue
        parts = instalment_schedule(amount=amount, kind=kind, start=start, currency=currency)
        due_now = Decimal(0) if config.get("days") else parts[0][1]
        offers.append(Offer(kind, str(LABELS[kind]), amount, currency, parts, due_now))
    return offers


# --- starting a plan


def instalment_part_key(part: Instalment) -> str:
    """The idempotency key of a part's current attempt (also the provider's key)."""
    return f"instalment:{part.pk}:attempt:{part.attempts}"


def instalment_plan_start(
    *,
    order: Order,
    kind: str,
    amount: Decimal,
    token: str,
    idempotency_key: str | None,
    channel: SalesChannel | None = None,
    phone: str = "",
    user: AbstractBaseUser | None = None,
) -> InstalmentPlan:
    """Set up a plan paying ``amount`` of ``order`` and charge its first part now.

    Refuses a plan not offered for the amount or channel (``instalment_plan_not_eligible``,
    with the reason), a card number for ``token``, more than the order still owes.
    Creates the payment (method ``instalment``, the configured gateway, the whole amount),
    the plan and its parts, then charges the first part (a deferred plan charges nothing
    now: the saved token is the authority to charge on the due date). A declined first
    part cancels the plan and raises ``InstalmentDeclined``: nothing was charged.

    The same ``idempotency_key`` again answers the same plan (or the same refusal) and
    charges nothing more; with other parameters it raises ``idempotency_key_reused``.
    Call it outside any transaction: the provider is called between short transactions.
    """
    channel = channel or order.channel
    currency = order.currency
    amount = amount_check(amount, currency)
    kind = str(kind)
    token_check(token)
    phone = phone_e164(phone) if phone else ""
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    with payment_key_lock(f"instalment-plan:{key}"):
        payment = Payment.objects.filter(idempotency_key=key).first()
        if payment is None:
            instalment_eligibility_check(
                amount=amount, currency=currency, kind=kind, channel=channel
            )
            plan = _plan_create(
                order=order,
                kind=kind,
                amount=amount,
                token=token,
                key=key,
                channel=channel,
                phone=phone,
                user=user,
            )
        else:
            plan = InstalmentPlan.objects.filter(payment=payment).first()
            same = plan is not None and (
                payment.order_id,
                plan.kind,
                plan.amount,
                plan.provider_token,
                plan.phone,
            ) == (order.pk, kind, amount, token, phone)
            if not same:
                raise IdempotencyKeyReused(key=key)
        return _plan_first_step(plan, user=user)


def _plan_create(
    *,
    order: Order,
    kind: str,
    amount: Decimal,
    token: str,
    key: str,
    channel: SalesChannel | None,
    phone: str,
    user: AbstractBaseUser | None,
) -> InstalmentPlan:
    deferred = bool(_plan_config(kind).get("days"))
    schedule = instalment_schedule(
        amount=amount, kind=kind, start=timezone.localdate(), currency=order.currency
    )
    with transaction.atomic():
        locked = order_lock(order.pk)
        if locked.status == Order.Status.CANCELLED:
            raise OrderNotPayable(order=locked.reference, status=locked.status)
        if order.currency != locked.currency:
            raise PaymentCurrencyMismatch(expected=locked.currency, given=order.currency)
        amount_limit_check(
            amount=amount,
            limit=order_outstanding_amount(locked),
            rule="due",
            currency=order.currency,
        )
        payment = Payment.objects.create(
            order=locked,
            method=Payment.Method.INSTALMENT,
            status=Payment.Status.PENDING,
            amount=amount,
            currency=locked.currency,
            gateway=str(setting("PAYMENT_GATEWAY")),
            provider_token=token,
            channel=channel,
            idempotency_key=key,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        plan = InstalmentPlan.objects.create(
            payment=payment,
            kind=kind,
            amount=amount,
            currency=locked.currency,
            provider_token=token,
            phone=phone,
        )
        _parts_create(plan, schedule, deferred=deferred)
    return plan


def _parts_create(
    plan: InstalmentPlan, schedule: list[tuple[date, Decimal]], *, deferred: bool
) -> None:
    now = timezone.now()
    Instalment.objects.bulk_create(
        Instalment(
            plan=plan,
            number=number,
            due_date=due,
            amount=part_amount,
            # The first part of a monthly plan is being charged now (attempt 1).
            status=PartStatus.PROCESSING if number == 1 and not deferred else PartStatus.SCHEDULED,
            attempts=1 if number == 1 and not deferred else 0,
            next_attempt_at=(
                now + instalment_processing_timeout() if number == 1 and not deferred else None
            ),
        )
        for number, (due, part_amount) in enumerate(schedule, start=1)
    )


def _plan_first_step(plan: InstalmentPlan, *, user: AbstractBaseUser | None) -> InstalmentPlan:
    payment = plan.payment
    if _plan_config(plan.kind) and _plan_config(plan.kind).get("days"):
        if payment.status == Payment.Status.PENDING:
            payment_mandate_record(
                payment=payment,
                reason=f"instalment plan {plan.kind}: nothing charged now",
                user=user,
            )
        return InstalmentPlan.objects.select_related("payment").get(pk=plan.pk)
    first = plan.parts.get(number=1)
    if first.status == PartStatus.CANCELLED:  # declined before: the same refusal
        failure = payment.operations.filter(status="failed").order_by("id").first()
        raise InstalmentDeclined(
            payment_id=payment.pk,
            decline_code=failure.error_code if failure else first.last_error,
            message=failure.error_message if failure else first.last_error,
        )
    if first.status == PartStatus.PROCESSING:
        try:
            payment_charge(
                payment=payment,
                amount=first.amount,
                idempotency_key=instalment_part_key(first),
                reason=f"instalment 1/{plan.parts.count()}",
                user=user,
            )
        except PaymentDeclined as exc:
            instalment_plan_cancel_declined(plan, first, exc)
            raise InstalmentDeclined(
                payment_id=payment.pk, decline_code=exc.decline_code, message=exc.message
            ) from None
        instalment_part_paid_if_captured(first)
    return InstalmentPlan.objects.select_related("payment").get(pk=plan.pk)


def instalment_plan_cancel_declined(
    plan: InstalmentPlan, first: Instalment, exc: PaymentDeclined
) -> None:
    """The first part was declined: the plan never started (its parts cancelled)."""
    with transaction.atomic():
        InstalmentPlan.objects.select_for_update().get(pk=plan.pk)
        plan.parts.filter(status__in=[PartStatus.PROCESSING, PartStatus.SCHEDULED]).update(
            status=PartStatus.CANCELLED, next_attempt_at=None, last_error=exc.decline_code[:255]
        )
        InstalmentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.CANCELLED)


def instalment_part_paid_if_captured(part: Instalment) -> bool:
    """Mark a part paid when its current attempt's charge succeeded in the ledger."""
    from payments.models import PaymentOperation

    succeeded = PaymentOperation.objects.filter(
        resolves__idempotency_key=instalment_part_key(part),
        kind=PaymentOperation.Kind.CAPTURE,
        status=PaymentOperation.Status.SUCCEEDED,
    ).exists()
    if not succeeded:
        return False
    with transaction.atomic():
        locked = Instalment.objects.select_for_update().get(pk=part.pk)
        plan = InstalmentPlan.objects.select_for_update().get(pk=locked.plan_id)
        if locked.status != PartStatus.PAID:
            locked.status = PartStatus.PAID
            locked.paid_at = timezone.now()
            locked.next_attempt_at = None
            locked.last_error = ""
            locked.save(update_fields=["status", "paid_at", "next_attempt_at", "last_error"])
        instalment_plan_status_refresh(plan)
    return True


def instalment_plan_status_refresh(plan: InstalmentPlan) -> None:
    """Completed when every part is paid; late while a part is being retried; active
    again once the late part is paid. Defaulted and cancelled are final."""
    if plan.status in (PlanStatus.DEFAULTED, PlanStatus.CANCELLED):
        return
    # Parts cancelled in a running plan were taken off by a return (nothing to collect).
    statuses = set(plan.parts.values_list("status", flat=True)) - {PartStatus.CANCELLED}
    if statuses <= {PartStatus.PAID}:
        status = PlanStatus.COMPLETED
    elif PartStatus.RETRYING in statuses:
        status = PlanStatus.LATE
    else:
        status = PlanStatus.ACTIVE
    if status != plan.status:
        plan.status = status
        plan.save(update_fields=["status"])


def instalment_processing_timeout() -> timedelta:
    return timedelta(seconds=int(setting("INSTALMENT_PROCESSING_TIMEOUT_SECONDS")))


def instalment_plan_cancel(
    *, plan: InstalmentPlan, reason: str = "", user: AbstractBaseUser | None = None
) -> InstalmentPlan:
    """Stop a plan (the order cancelled, or settled another way): the parts not yet paid
    are cancelled, the payment keeps what was charged and the order owes the rest again
    (refunding what was charged is ``payment_refund``'s, once the plan is stopped). A
    part being charged right now is left to finish. Idempotent; a completed or defaulted
    plan is left as it is."""
    with transaction.atomic():
        locked = InstalmentPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status in (PlanStatus.ACTIVE, PlanStatus.LATE):
            locked.parts.filter(status__in=[PartStatus.SCHEDULED, PartStatus.RETRYING]).update(
                status=PartStatus.CANCELLED, next_attempt_at=None
            )
            locked.status = PlanStatus.CANCELLED
            locked.save(update_fields=["status"])
            payment_remainder_release(
                payment=locked.payment,
                reason=(reason or f"instalment plan {locked.kind} cancelled")[:255],
                user=user,
            )
    return InstalmentPlan.objects.select_related("payment").get(pk=plan.pk)


def instalment_plan_reduce(
    *,
    plan: InstalmentPlan,
    amount: Decimal,
    reason: str,
    user: AbstractBaseUser | None = None,
) -> PaymentOperation | None:
    """Take up to ``amount`` off what a running plan still has to collect (goods
    returned before they were paid for), from the last part backwards: a part reduced to
    nothing is cancelled, the next one is lowered. Nothing is charged or given back; the
    plan's payment asks that much less (a succeeded void operation of the amount taken
    off, carrying ``reason``), and ends captured (or voided) once nothing is left to
    collect. Parts already paid or being charged are never touched. Returns the void
    operation, or None when there was nothing to take off. Runs in the caller's
    transaction if there is one (the order, then the payment, then the plan are locked).
    """
    with transaction.atomic():
        order = order_lock(plan.payment.order_id)
        payment = payment_lock(plan.payment_id)
        locked = InstalmentPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status not in (PlanStatus.ACTIVE, PlanStatus.LATE) or amount <= 0:
            return None
        taken_off = _parts_take_off(locked, amount)
        if taken_off <= 0:
            return None
        operation = PaymentOperation.objects.create(
            payment=payment,
            kind=PaymentOperation.Kind.VOID,
            status=PaymentOperation.Status.SUCCEEDED,
            amount=taken_off,
            currency=payment.currency,
            reason=reason[:255],
            created_by=user if user is not None and user.is_authenticated else None,
        )
        _plan_payment_reduce(locked, payment, taken_off)
        instalment_plan_status_refresh(locked)
        order_payment_recompute(order, actor=user)
    return operation


def _parts_take_off(plan: InstalmentPlan, amount: Decimal) -> Decimal:
    """Take up to ``amount`` off the plan's parts still due, last first; returns how much
    was taken off."""
    left = amount
    # Locked, and their status read again under the lock: a part a collector has
    # just claimed (being charged) is left alone (its claim locks the part too).
    parts = (
        plan.parts.filter(status__in=[PartStatus.SCHEDULED, PartStatus.RETRYING])
        .select_for_update()
        .order_by("-number")
    )
    for part in parts:
        if left <= 0:
            break
        if part.amount <= left:
            left -= part.amount
            part.status, part.next_attempt_at = PartStatus.CANCELLED, None
            part.save(update_fields=["status", "next_attempt_at"])
        else:
            part.amount -= left
            left = Decimal(0)
            part.save(update_fields=["amount"])
    return amount - left


def _plan_payment_reduce(plan: InstalmentPlan, payment: Payment, taken_off: Decimal) -> None:
    """The plan's payment asks ``taken_off`` less; it ends captured (or voided, and the
    plan cancelled) once nothing is left to collect."""
    still_due = plan.parts.filter(
        status__in=[PartStatus.SCHEDULED, PartStatus.RETRYING, PartStatus.PROCESSING]
    ).exists()
    if still_due:
        payment_update(payment, amount=payment.amount - taken_off)
    elif payment.captured_amount > 0:
        payment_update(payment, amount=payment.captured_amount, status=Payment.Status.CAPTURED)
    else:  # a deferred plan relieved of everything: nothing was ever taken
        payment_update(payment, status=Payment.Status.VOIDED)
        plan.status = PlanStatus.CANCELLED
        plan.save(update_fields=["status"])
