"""The simulated gateway's delayed and duplicated confirmations delivered by a real Celery
worker process (``payments.simulated_webhook``) over the real Redis broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from payments.models import Payment, ProviderEvent
from payments.services.start import payment_start
from tests.conftest import drain_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_delivers_the_confirmation_twice_and_it_counts_once(
    celery_worker_process, make_order, settings
):
    settings.PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS = 0.1
    order = make_order(total="35.00")

    payment = payment_start(
        order=order,
        method="payment_link",
        amount=Decimal("35"),
        token="sim_duplicate_webhook",
        idempotency_key="worker-dup",
    )
    assert payment.status == "pending"

    wait_until(
        lambda: (
            ProviderEvent.objects.filter(result="processed").exists()
            and celery_worker_process.output().count("payments.simulated_webhook") >= 4
        ),
        what="both deliveries",
    )
    drain_worker()
    payment = Payment.objects.get(pk=payment.pk)
    order.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("35.00"))
    assert order.payment_status == Order.PaymentStatus.PAID
    assert payment.operations.filter(kind="capture", status="succeeded").count() == 1
    assert ProviderEvent.objects.count() == 1
    assert "'duplicate'" in celery_worker_process.output()
