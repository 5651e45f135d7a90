"""Instalment plans on the simulated gateway: the schedule, eligibility, the first part
taken at checkout, later parts collected by the job with retries, reminders and a
defaulted plan, and collection that never charges a part twice (crash, two collectors)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import Order
from payments.exceptions import (
    AmountExceeds,
    CardNumberRefused,
    IdempotencyKeyReused,
    InstalmentDeclined,
    InstalmentPlanNotEligible,
)
from payments.gateways import simulated
from payments.models import Instalment, InstalmentPlan, Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.instalment_collection import (
    instalment_part_claim,
    instalment_reminders_send,
    instalments_collect,
)
from payments.services.instalments import (
    instalment_offers,
    instalment_plan_cancel,
    instalment_plan_start,
    instalment_schedule,
)
from payments.tasks import simulated_webhook
from tests.factories import SalesChannelFactory
from unicommerce.messaging.models import Message

PS = Order.PaymentStatus
PART = Instalment.Status
PLAN = InstalmentPlan.Status
D = Decimal


def ledger(payment: Payment) -> list[tuple[str, str, Decimal]]:
    return [(op.kind, op.status, op.amount) for op in payment.operations.order_by("id")]


def parts_of(plan: InstalmentPlan) -> list[tuple[int, str, Decimal, int]]:
    return [(p.number, p.status, p.amount, p.attempts) for p in plan.parts.order_by("number")]


def start_3x(
    order, *, token=simulated.TOKEN_OK, key="plan-1", phone="+33612345678"
) -> InstalmentPlan:
    return instalment_plan_start(
        order=order, kind="3x", amount=order.total_amount, token=token, idempotency_key=key,
        phone=phone,
    )  # fmt: skip


def later(days: int):
    return timezone.now() + timedelta(days=days)


# --- schedule


def test_schedule_puts_the_cents_on_the_first_part_and_clamps_to_month_end():
    assert instalment_schedule(amount=D("100.00"), kind="3x", start=date(2025, 1, 31)) == [
        (date(2025, 1, 31), D("33.34")),
        (date(2025, 2, 28), D("33.33")),
        (date(2025, 3, 31), D("33.33")),
    ]
    assert instalment_schedule(amount=D("100.03"), kind="4x", start=date(2024, 11, 30)) == [
        (date(2024, 11, 30), D("25.03")),
        (date(2024, 12, 30), D("25.00")),
        (date(2025, 1, 30), D("25.00")),
        (date(2025, 2, 28), D("25.00")),
    ]
    assert instalment_schedule(amount=D("80"), kind="d30", start=date(2025, 1, 10)) == [
        (date(2025, 2, 9), D("80.00"))
    ]


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=4, max_value=10**9),
    kind=st.sampled_from(["2x", "3x", "4x", "d15", "d30"]),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
)
def test_schedule_parts_sum_exactly_to_the_amount(cents, kind, start):
    amount = D(cents) / 100
    parts = instalment_schedule(amount=amount, kind=kind, start=start)

    assert sum(value for _, value in parts) == amount
    assert len(parts) == {"2x": 2, "3x": 3, "4x": 4, "d15": 1, "d30": 1}[kind]
    assert all(value > 0 and value == value.quantize(D("0.01")) for _, value in parts)
    assert len({value for _, value in parts[1:]}) <= 1  # the later parts are equal
    assert parts[0][1] - (parts[-1][1]) < D("0.01") * len(parts)
    dates = [due for due, _ in parts]
    assert dates == sorted(set(dates))
    assert dates[0] == (start if kind.endswith("x") else start + timedelta(days=int(kind[1:])))


# --- eligibility


def test_offers_follow_amount_bounds_and_channel_kinds(db):
    web = SalesChannelFactory(code="web")
    marketplace = SalesChannelFactory(code="mp", kind="marketplace")
    today = timezone.localdate()

    offers = instalment_offers(amount=D("120.00"), currency="EUR", channel=web)
    small = instalment_offers(amount=D("40.00"), currency="EUR", channel=web)

    assert [(o.kind, o.due_now, len(o.parts)) for o in offers] == [
        ("2x", D("60.00"), 2),
        ("3x", D("40.00"), 3),
        ("4x", D("30.00"), 4),
        ("d15", D("0"), 1),
        ("d30", D("0"), 1),
    ]
    assert offers[1].parts[0] == (today, D("40.00"))
    assert offers[1].label == "Pay in 3 instalments"
    assert [o.kind for o in small] == ["d15", "d30"]
    assert instalment_offers(amount=D("120.00"), currency="EUR", channel=marketplace) == []
    assert instalment_offers(amount=D("120.00"), currency="USD", channel=web) == []
    assert [o.kind for o in instalment_offers(amount=D("5000"), currency="EUR", channel=web)] == []


@pytest.mark.parametrize(
    ("kind", "total", "channel_kind", "reason"),
    [
        ("3x", "49.99", "web", "amount_below_minimum"),
        ("2x", "2000.01", "web", "amount_above_maximum"),
        ("3x", "100.00", "marketplace", "channel_not_allowed"),
        ("6x", "100.00", "web", "unknown_kind"),
    ],
)
def test_an_ineligible_plan_is_refused_with_why_and_nothing_is_created(
    make_order, kind, total, channel_kind, reason
):
    order = make_order(total=total, channel=SalesChannelFactory(code="c", kind=channel_kind))

    with pytest.raises(InstalmentPlanNotEligible) as error:
        instalment_plan_start(
            order=order, kind=kind, amount=D(total), token="sim_ok", idempotency_key="k"
        )

    assert (error.value.code, error.value.http_status) == ("instalment_plan_not_eligible", 400)
    assert error.value.details["reason"] == reason
    assert not Payment.objects.exists()
    assert not InstalmentPlan.objects.exists()
    assert simulated.CALLS == []


def test_a_card_number_or_more_than_due_is_refused(make_order):
    order = make_order(total="100.00")

    with pytest.raises(CardNumberRefused):
        start_3x(order, token="4242 4242 4242 4242")
    with pytest.raises(AmountExceeds, match="still due on this order"):
        instalment_plan_start(
            order=order, kind="3x", amount=D("150.00"), token="sim_ok", idempotency_key="k2"
        )
    assert not Payment.objects.exists()
    assert simulated.CALLS == []


# --- the first part


def test_first_part_is_taken_now_and_the_order_owes_nothing_more(make_order):
    order = make_order(total="100.00")

    plan = start_3x(order)

    payment = plan.payment
    order.refresh_from_db()
    assert (plan.kind, plan.status, plan.amount, plan.phone) == (
        "3x", PLAN.ACTIVE, D("100.00"), "+33612345678"
    )  # fmt: skip
    assert parts_of(plan) == [
        (1, PART.PAID, D("33.34"), 1),
        (2, PART.SCHEDULED, D("33.33"), 0),
        (3, PART.SCHEDULED, D("33.33"), 0),
    ]
    assert (payment.method, payment.gateway, payment.status) == (
        "instalment",
        "simulated",
        "authorised",
    )
    assert (payment.amount, payment.captured_amount) == (D("100.00"), D("33.34"))
    assert ledger(payment) == [
        ("capture", "pending", D("33.34")),
        ("capture", "succeeded", D("33.34")),
    ]
    assert order.payment_status == PS.PAID  # paid in instalments: the running plan covers the rest
    assert order_outstanding_amount(order) == D("0.00")
    assert [(c.amount, c.idempotency_key) for c in simulated.charges()] == [
        (D("33.34"), f"instalment:{plan.parts.get(number=1).pk}:attempt:1")
    ]


def test_the_same_key_answers_the_same_plan_and_other_parameters_are_refused(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)

    again = start_3x(order)

    assert again.pk == plan.pk
    assert len(simulated.charges()) == 1
    with pytest.raises(IdempotencyKeyReused):
        instalment_plan_start(
            order=order, kind="2x", amount=D("100.00"), token="sim_ok", idempotency_key="plan-1",
            phone="+33612345678",
        )  # fmt: skip
    assert InstalmentPlan.objects.count() == 1


def test_a_declined_first_part_leaves_no_plan_and_nothing_charged(make_order):
    order = make_order(total="100.00")

    with pytest.raises(InstalmentDeclined) as error:
        start_3x(order, token="sim_decline")
    with pytest.raises(InstalmentDeclined):  # the same key: the same answer, no new call
        start_3x(order, token="sim_decline")

    assert (error.value.code, error.value.http_status) == ("instalment_declined", 402)
    assert error.value.details["decline_code"] == "card_declined"
    plan = InstalmentPlan.objects.get()
    order.refresh_from_db()
    assert plan.status == PLAN.CANCELLED
    assert {p.status for p in plan.parts.all()} == {PART.CANCELLED}
    assert (plan.payment.status, plan.payment.captured_amount) == ("failed", D("0"))
    assert ledger(plan.payment) == [
        ("capture", "pending", D("33.34")),
        ("failure", "failed", D("33.34")),
    ]
    assert order.payment_status == PS.UNPAID
    assert order_outstanding_amount(order) == D("100.00")
    assert len(simulated.CALLS) == 1  # one call, declined
    assert instalments_collect(now=later(100)) == {
        "paid": 0,
        "retrying": 0,
        "failed": 0,
        "pending": 0,
    }


def test_a_deferred_plan_charges_nothing_now_and_the_whole_amount_on_day_30(make_order):
    order = make_order(total="80.00")

    plan = instalment_plan_start(
        order=order, kind="d30", amount=D("80.00"), token="sim_ok", idempotency_key="d30"
    )

    order.refresh_from_db()
    assert simulated.CALLS == []
    assert (plan.payment.status, plan.payment.captured_amount) == ("authorised", D("0"))
    assert ledger(plan.payment) == [("authorise", "succeeded", D("80.00"))]
    assert parts_of(plan) == [(1, PART.SCHEDULED, D("80.00"), 0)]
    assert order.payment_status == PS.PAID  # the mandate given: the order is paid by the plan
    assert order_outstanding_amount(order) == D("0.00")
    assert instalments_collect(now=later(29))["paid"] == 0

    assert instalments_collect(now=later(30)) == {
        "paid": 1,
        "retrying": 0,
        "failed": 0,
        "pending": 0,
    }

    plan.refresh_from_db()
    order.refresh_from_db()
    assert plan.status == PLAN.COMPLETED
    payment = Payment.objects.get(pk=plan.payment_id)
    assert (payment.status, payment.captured_amount) == ("captured", D("80.00"))
    assert order.payment_status == PS.PAID


# --- collection


def test_later_parts_are_collected_when_due_and_the_plan_completes(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)

    assert instalments_collect(now=later(1))["paid"] == 0
    assert instalments_collect(now=later(31))["paid"] == 1
    order.refresh_from_db()
    assert order.payment_status == PS.PAID
    assert instalments_collect(now=later(62))["paid"] == 1

    plan.refresh_from_db()
    order.refresh_from_db()
    payment = Payment.objects.get(pk=plan.payment_id)
    assert plan.status == PLAN.COMPLETED
    assert [p[1] for p in parts_of(plan)] == [PART.PAID] * 3
    assert (payment.status, payment.captured_amount) == ("captured", D("100.00"))
    assert order.payment_status == PS.PAID
    assert sorted(c.amount for c in simulated.charges()) == [D("33.33"), D("33.33"), D("33.34")]
    assert instalments_collect(now=later(200)) == {
        "paid": 0,
        "retrying": 0,
        "failed": 0,
        "pending": 0,
    }


def _card_now_declines(plan: InstalmentPlan, token: str = simulated.TOKEN_DECLINE) -> None:
    Payment.objects.filter(pk=plan.payment_id).update(provider_token=token)


def test_a_declined_part_is_retried_after_1_then_3_days_then_the_plan_defaults(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)
    _card_now_declines(plan)
    second = plan.parts.get(number=2)
    due = timezone.now() + timedelta(days=31)

    assert instalments_collect(now=due)["retrying"] == 1
    second.refresh_from_db()
    plan.refresh_from_db()
    assert (second.status, second.attempts, second.last_error) == (
        PART.RETRYING,
        1,
        "card_declined",
    )
    assert second.next_attempt_at == due + timedelta(days=1)
    assert plan.status == PLAN.LATE
    assert instalments_collect(now=due + timedelta(hours=23))["retrying"] == 0  # not yet

    assert instalments_collect(now=due + timedelta(days=1))["retrying"] == 1
    second.refresh_from_db()
    assert (second.status, second.attempts) == (PART.RETRYING, 2)
    assert second.next_attempt_at == due + timedelta(days=4)

    assert instalments_collect(now=due + timedelta(days=4))["failed"] == 1

    second.refresh_from_db()
    plan.refresh_from_db()
    order.refresh_from_db()
    payment = Payment.objects.get(pk=plan.payment_id)
    assert (second.status, second.attempts) == (PART.FAILED, 3)
    assert plan.status == PLAN.DEFAULTED
    assert parts_of(plan)[2][1] == PART.CANCELLED
    # What was paid stays paid; the rest is owed again.
    assert (payment.status, payment.captured_amount) == ("captured", D("33.34"))
    assert ledger(payment)[-1] == ("void", "succeeded", D("66.66"))
    assert order.payment_status == PS.PARTIALLY_PAID
    assert order_outstanding_amount(order) == D("66.66")
    keys = [s.idempotency_key for s in simulated.charges()][1:]
    assert keys == [f"instalment:{second.pk}:attempt:{n}" for n in (1, 2, 3)]
    sms = Message.objects.filter(channel="sms").order_by("id")
    assert [(m.kind, m.to, m.dedup_key) for m in sms] == [
        ("instalment_retrying", "+33612345678", f"instalment:{second.pk}:declined:1"),
        ("instalment_retrying", "+33612345678", f"instalment:{second.pk}:declined:2"),
        ("instalment_failed", "+33612345678", f"instalment:{second.pk}:declined:3"),
    ]
    assert order.reference in sms[0].body
    assert "33.33" in sms[0].body.replace(",", ".")
    assert instalments_collect(now=due + timedelta(days=90))["paid"] == 0


def test_a_late_part_paid_on_retry_makes_the_plan_active_again(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)
    _card_now_declines(plan)
    due = timezone.now() + timedelta(days=31)
    instalments_collect(now=due)
    _card_now_declines(plan, token="sim_ok")

    assert instalments_collect(now=due + timedelta(days=1))["paid"] == 1

    plan.refresh_from_db()
    assert plan.status == PLAN.ACTIVE
    assert parts_of(plan)[1] == (2, PART.PAID, D("33.33"), 2)


def test_reminders_go_3_days_before_each_due_date_once(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)
    second = plan.parts.get(number=2)

    assert instalment_reminders_send(today=second.due_date - timedelta(days=4)) == 0
    assert instalment_reminders_send(today=second.due_date - timedelta(days=3)) == 1
    assert instalment_reminders_send(today=second.due_date - timedelta(days=2)) == 0

    message = Message.objects.get(kind="instalment_reminder")
    assert (message.to, message.dedup_key) == ("+33612345678", f"instalment:{second.pk}:reminder")
    assert second.due_date.isoformat() in message.body
    second.refresh_from_db()
    assert second.reminder_sent_at is not None


# --- never twice


def test_a_collector_that_died_mid_charge_is_taken_up_with_the_same_key(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)
    second = plan.parts.get(number=2)
    due = timezone.now() + timedelta(days=31)
    assert instalment_part_claim(second.pk, due) is not None  # claimed, then the worker died

    assert instalments_collect(now=due + timedelta(minutes=1))["paid"] == 0  # still held
    assert instalments_collect(now=due + timedelta(minutes=11))["paid"] == 1

    second.refresh_from_db()
    assert (second.status, second.attempts) == (PART.PAID, 1)
    assert [c.idempotency_key for c in simulated.charges()][1:] == [
        f"instalment:{second.pk}:attempt:1"
    ]


def test_a_lost_provider_answer_is_resumed_without_charging_again(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)
    _card_now_declines(plan, token="sim_timeout")  # charged, but the answer is lost
    second = plan.parts.get(number=2)
    due = timezone.now() + timedelta(days=31)

    assert instalments_collect(now=due)["pending"] == 1
    assert instalments_collect(now=due + timedelta(minutes=11))["paid"] == 1

    second.refresh_from_db()
    assert (second.status, second.attempts) == (PART.PAID, 1)
    assert len(simulated.charges(f"instalment:{second.pk}:attempt:1")) == 1
    assert Payment.objects.get(pk=plan.payment_id).captured_amount == D("66.67")


@pytest.mark.django_db(transaction=True)
def test_two_collectors_at_once_charge_each_part_once(make_order):
    plans = [start_3x(make_order(total="100.00"), key=f"plan-{n}") for n in range(6)]
    due = timezone.now() + timedelta(days=31)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def collect() -> None:
        try:
            barrier.wait()
            results.append(instalments_collect(now=due))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r["paid"] for r in results) == 6
    second_keys = [c.idempotency_key for c in simulated.charges() if c.amount == D("33.33")]
    assert sorted(second_keys) == sorted(
        f"instalment:{p.parts.get(number=2).pk}:attempt:1" for p in plans
    )
    assert PaymentOperation.objects.filter(kind="capture", status="succeeded").count() == 12
    assert all(Payment.objects.get(pk=p.payment_id).captured_amount == D("66.67") for p in plans)


def test_a_part_confirmed_later_by_webhook_is_paid_once(make_order):
    order = make_order(total="100.00")

    plan = start_3x(order, token="sim_delayed")  # the provider answers "pending"

    first = plan.parts.get(number=1)
    assert first.status == PART.PROCESSING
    assert Payment.objects.get(pk=plan.payment_id).captured_amount == D("0")
    (delivery,) = simulated.WEBHOOKS
    assert simulated_webhook(**delivery) == "processed"
    assert simulated_webhook(**delivery) == "duplicate"
    payment = Payment.objects.get(pk=plan.payment_id)
    assert (payment.status, payment.captured_amount) == ("authorised", D("33.34"))

    # The job takes the part up again with the same key and finds it paid.
    assert instalments_collect(now=later(0) + timedelta(minutes=11))["paid"] == 1
    first.refresh_from_db()
    assert (first.status, first.attempts) == (PART.PAID, 1)
    assert len(simulated.charges()) == 1
    assert [op[:2] for op in ledger(payment)] == [
        ("capture", "pending"),
        ("capture", "pending"),
        ("capture", "succeeded"),
    ]


def test_a_cancelled_plan_keeps_what_was_paid_and_charges_nothing_more(make_order):
    order = make_order(total="100.00")
    plan = start_3x(order)

    cancelled = instalment_plan_cancel(plan=plan, reason="order settled in cash")
    instalment_plan_cancel(plan=plan)

    order.refresh_from_db()
    assert cancelled.status == PLAN.CANCELLED
    assert [p[1] for p in parts_of(plan)] == [PART.PAID, PART.CANCELLED, PART.CANCELLED]
    assert (cancelled.payment.status, cancelled.payment.captured_amount) == ("captured", D("33.34"))
    assert ledger(cancelled.payment)[-1] == ("void", "succeeded", D("66.66"))
    assert order_outstanding_amount(order) == D("66.66")
    assert instalments_collect(now=later(100))["paid"] == 0
    assert len(simulated.charges()) == 1


def test_parts_of_a_cancelled_order_are_not_collected(make_order):
    order = make_order(total="100.00")
    start_3x(order)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    assert instalments_collect(now=later(100)) == {
        "paid": 0,
        "retrying": 0,
        "failed": 0,
        "pending": 0,
    }
    assert len(simulated.charges()) == 1
