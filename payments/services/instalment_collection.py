"""Collecting instalment plans' parts: the beat's charges of the parts that are due (with
their retries, the declined SMS, the plan's default) and the reminders before a due
date. Plans themselves are set up, reduced and cancelled in
``payments.services.instalments``."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from payments.conf import setting
from payments.exceptions import (
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PaymentInProgress,
    PaymentStateInvalid,
)
from payments.models import Instalment, InstalmentPlan, Payment
from payments.services.capture import payment_charge
from payments.services.common import language_now
from payments.services.instalments import (
    instalment_part_key,
    instalment_part_paid_if_captured,
    instalment_plan_cancel_declined,
    instalment_plan_status_refresh,
    instalment_processing_timeout,
)
from payments.services.void import payment_remainder_release
from unicommerce.messaging.exceptions import MessageRecipientInvalid
from unicommerce.messaging.services import message_send
from unicommerce.money import money_format
from unicommerce.ratelimit import RateLimited

logger = logging.getLogger(__name__)

PlanStatus = InstalmentPlan.Status
PartStatus = Instalment.Status


# --- collecting the parts that are due


def _due_parts(now: datetime):
    today = timezone.localdate(now)
    waiting = Q(status__in=[PartStatus.SCHEDULED, PartStatus.RETRYING]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    # A part left "being charged" past its deadline: its worker died; take it up again.
    stale = Q(status=PartStatus.PROCESSING, next_attempt_at__lte=now)
    return (
        Instalment.objects.filter(
            waiting | stale,
            due_date__lte=today,
            plan__status__in=[PlanStatus.ACTIVE, PlanStatus.LATE],
        )
        .exclude(plan__payment__order__status=Order.Status.CANCELLED)
        .order_by("due_date", "id")
    )


def instalment_part_claim(part_id: int, now: datetime) -> Instalment | None:
    """Take a due part for this worker (skipping a part another worker holds): a new
    attempt, or the same attempt again for a part whose worker died."""
    with transaction.atomic():
        part = (
            _due_parts(now)
            .filter(pk=part_id)
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if part is None:
            return None
        if part.status != PartStatus.PROCESSING:
            part.attempts += 1
            part.status = PartStatus.PROCESSING
        part.next_attempt_at = now + instalment_processing_timeout()
        part.save(update_fields=["attempts", "status", "next_attempt_at"])
    return part


def instalments_collect(*, now: datetime | None = None) -> dict[str, int]:
    """Charge every part that is due, one at a time and outside any transaction.

    Safe to run concurrently and after a crash: a part is claimed (row lock, SKIP LOCKED)
    before it is charged, and each attempt's charge carries its own idempotency key
    (``instalment:<part>:attempt:<n>``), so the same attempt resumed never charges twice.
    Returns counts: ``paid``, ``retrying``, ``failed``, ``pending`` (no answer yet).
    """
    now = now or timezone.now()
    counts = {"paid": 0, "retrying": 0, "failed": 0, "pending": 0}
    for part_id in list(_due_parts(now).values_list("pk", flat=True)):
        part = instalment_part_claim(part_id, now)
        if part is None:
            continue
        counts[_part_collect(part, now)] += 1
    return counts


def _part_collect(part: Instalment, now: datetime) -> str:
    plan = InstalmentPlan.objects.select_related("payment").get(pk=part.plan_id)
    total = plan.parts.count()
    try:
        payment_charge(
            payment=plan.payment,
            amount=part.amount,
            idempotency_key=instalment_part_key(part),
            reason=f"instalment {part.number}/{total}",
        )
    except PaymentDeclined as exc:
        if Payment.objects.filter(pk=plan.payment_id, status=Payment.Status.FAILED).exists():
            # The first part (its answer lost at checkout, resumed here) was declined:
            # the plan never started, as if declined at checkout.
            instalment_plan_cancel_declined(plan, part, exc)
            return "failed"
        return _part_declined(part, exc, now)
    except PaymentStateInvalid as exc:  # the payment closed meanwhile (plan stopped)
        logger.warning("instalment %s not charged: %s", part.pk, exc.message)
        return "pending"
    except (PaymentGatewayUnavailable, PaymentInProgress) as exc:
        # No answer: the part stays "being charged" and the same attempt is taken up
        # again after the processing timeout (or payment_claims_resume settles it).
        logger.warning("instalment %s: no answer from the provider (%s)", part.pk, exc.code)
        return "pending"
    if instalment_part_paid_if_captured(part):
        return "paid"
    return "pending"


def _part_declined(part: Instalment, exc: PaymentDeclined, now: datetime) -> str:
    delays = [int(days) for days in setting("INSTALMENT_RETRY_DELAYS_DAYS")]
    with transaction.atomic():
        locked = Instalment.objects.select_for_update().get(pk=part.pk)
        plan = (
            InstalmentPlan.objects.select_for_update()
            .select_related("payment__order")
            .get(pk=locked.plan_id)
        )
        if locked.status != PartStatus.PROCESSING or locked.attempts != part.attempts:
            return "pending"  # another worker recorded this attempt already
        locked.last_error = (exc.decline_code or exc.code)[:255]
        retries_done = locked.attempts - 1
        if retries_done < len(delays):
            locked.status = PartStatus.RETRYING
            locked.next_attempt_at = now + timedelta(days=delays[retries_done])
            outcome = "retrying"
        else:
            locked.status = PartStatus.FAILED
            locked.next_attempt_at = None
            outcome = "failed"
        locked.save(update_fields=["status", "next_attempt_at", "last_error"])
        if outcome == "failed":
            plan.status = PlanStatus.DEFAULTED
            plan.save(update_fields=["status"])
            plan.parts.filter(status=PartStatus.SCHEDULED).update(status=PartStatus.CANCELLED)
            # The order owes the rest again (lock order: part, plan, then order, payment).
            payment_remainder_release(
                payment=plan.payment,
                reason=f"instalment plan defaulted: part {locked.number} failed",
            )
        else:
            instalment_plan_status_refresh(plan)
        _declined_sms(plan, locked, outcome)
    return outcome


def _declined_sms(plan: InstalmentPlan, part: Instalment, outcome: str) -> None:
    if not plan.phone:
        return
    order = plan.payment.order
    values = {
        "amount": money_format(part.amount, plan.currency, language_now()),
        "order": order.reference,
    }
    if outcome == "retrying":
        body = _(
            "Your instalment of %(amount)s for order %(order)s was declined. "
            "We will try again on %(date)s: please check your card."
        ) % {**values, "date": timezone.localtime(part.next_attempt_at).date().isoformat()}
    else:
        body = (
            _(
                "Your instalment of %(amount)s for order %(order)s could not be collected. "
                "Please contact the shop to settle it."
            )
            % values
        )
    try:
        message_send(
            channel="sms",
            to=plan.phone,
            body=body,
            kind=f"instalment_{outcome}",
            customer_id=order.customer_id,
            reference=order.reference,
            dedup_key=f"instalment:{part.pk}:declined:{part.attempts}",
        )
    except (RateLimited, MessageRecipientInvalid) as error:
        # The collection's outcome stands without its SMS (nothing was written).
        logger.warning("instalment %s: declined SMS not sent: %s", part.pk, error.code)


# --- reminders


def instalment_reminders_send(*, today: date | None = None) -> int:
    """An SMS ``INSTALMENT_REMINDER_DAYS_BEFORE`` days before each due part (once per
    part: the part remembers it, and the message's dedup key makes a rerun harmless).
    Returns how many reminders were queued."""
    today = today or timezone.localdate()
    days = int(setting("INSTALMENT_REMINDER_DAYS_BEFORE"))
    parts = (
        Instalment.objects.filter(
            status=PartStatus.SCHEDULED,
            reminder_sent_at__isnull=True,
            due_date__gt=today,
            due_date__lte=today + timedelta(days=days),
            plan__status__in=[PlanStatus.ACTIVE, PlanStatus.LATE],
        )
        .exclude(plan__phone="")
        .order_by("due_date", "id")
    )
    sent = 0
    for part_id in list(parts.values_list("pk", flat=True)):
        with transaction.atomic():
            part = (
                Instalment.objects.select_for_update(skip_locked=True)
                .filter(pk=part_id, reminder_sent_at__isnull=True)
                .first()
            )
            if part is None:
                continue
            plan = InstalmentPlan.objects.select_related("payment__order").get(pk=part.plan_id)
            order = plan.payment.order
            try:
                message_send(
                    channel="sms",
                    to=plan.phone,
                    body=_(
                        "Reminder: your instalment of %(amount)s for order %(order)s "
                        "will be charged on %(date)s."
                    )
                    % {
                        "amount": money_format(part.amount, plan.currency, language_now()),
                        "order": order.reference,
                        "date": part.due_date.isoformat(),
                    },
                    kind="instalment_reminder",
                    customer_id=order.customer_id,
                    reference=order.reference,
                    dedup_key=f"instalment:{part.pk}:reminder",
                )
            except (RateLimited, MessageRecipientInvalid) as error:
                # Not marked as reminded: the next run (tomorrow) tries again.
                logger.warning("instalment %s: reminder not sent: %s", part.pk, error.code)
                continue
            part.reminder_sent_at = timezone.now()
            part.save(update_fields=["reminder_sent_at"])
            sent += 1
    return sent
