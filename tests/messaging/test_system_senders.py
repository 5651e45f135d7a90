"""The jobs that text customers on their own (instalment reminders and declines) meet the
SMS limits and the allowed countries like everyone: they log, skip that SMS and carry on;
they never crash, roll back a collection, or retry forever."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from payments.gateways import simulated
from payments.models import Instalment, InstalmentPlan, Payment
from payments.services.instalment_collection import instalment_reminders_send, instalments_collect
from payments.services.instalments import instalment_plan_start
from tests.factories import SalesChannelFactory
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_simulated_gateway():
    simulated.reset()
    yield
    simulated.reset()


@pytest.fixture
def web(db):
    return SalesChannelFactory(code="web", name="Web")


def _plan(web, phone: str, key: str) -> InstalmentPlan:
    order = Order.objects.create(
        channel=web, status=Order.Status.PLACED, currency="EUR", total_amount=Decimal("90.00")
    )
    return instalment_plan_start(
        order=order,
        kind="3x",
        amount=order.total_amount,
        token=simulated.TOKEN_OK,
        idempotency_key=key,
        phone=phone,
    )


def _use_up(number: str) -> None:
    message_send(channel="sms", to=number, body="Earlier", kind="t")


def test_reminders_skip_a_number_over_its_limit_and_send_the_others(web, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "1/day"}
    limited = _plan(web, "+33611111111", "plan-a")
    served = _plan(web, "+33622222222", "plan-b")
    _use_up("+33611111111")
    due = limited.parts.get(number=2).due_date

    assert instalment_reminders_send(today=due - timedelta(days=3)) == 1

    reminders = Message.objects.filter(kind="instalment_reminder")
    assert [m.to for m in reminders] == ["+33622222222"]
    assert limited.parts.get(number=2).reminder_sent_at is None  # tried again next run
    assert served.parts.get(number=2).reminder_sent_at is not None


def test_a_reminder_to_a_country_sms_may_not_reach_is_skipped(web, settings):
    settings.SMS_ALLOWED_REGIONS = ["FR"]
    plan = _plan(web, "+262692123456", "plan-re")
    due = plan.parts.get(number=2).due_date

    assert instalment_reminders_send(today=due - timedelta(days=3)) == 0

    assert not Message.objects.filter(kind="instalment_reminder").exists()


def test_a_declined_instalment_is_recorded_even_when_its_sms_is_over_the_limit(web, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "1/day"}
    plan = _plan(web, "+33611111111", "plan-c")
    Payment.objects.filter(pk=plan.payment_id).update(provider_token=simulated.TOKEN_DECLINE)
    _use_up("+33611111111")

    result = instalments_collect(now=timezone.now() + timedelta(days=31))

    assert result["retrying"] == 1
    second = plan.parts.get(number=2)
    assert (second.status, second.attempts) == (Instalment.Status.RETRYING, 1)
    plan.refresh_from_db()
    assert plan.status == InstalmentPlan.Status.LATE
    assert not Message.objects.filter(kind__startswith="instalment_").exists()
