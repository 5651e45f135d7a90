"""Retry storms on real threads with their own database connections: one idempotency key
sent 50 times at once charges once; different keys racing for the same amount due never
overpay the order."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order
from payments.exceptions import AmountExceeds
from payments.gateways import simulated
from payments.models import Payment, PaymentOperation
from payments.services.start import payment_start

THREADS = 50


def run_together(count: int, work) -> list:
    """Run ``work(i)`` on ``count`` threads released at once; each returns its result or
    the exception it raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("gateway", ["simulated", "stripe"])
def test_fifty_identical_requests_charge_once(make_order, request, gateway, settings):
    order = make_order(total="75.00")
    if gateway == "stripe":
        fake = request.getfixturevalue("fake_stripe")
        settings.PAYMENT_GATEWAY = "stripe"
        token = "pm_card_visa"
    else:
        token = "sim_ok"

    def pay(_: int):
        payment = payment_start(
            order=Order.objects.get(pk=order.pk),
            method="card_online",
            amount=Decimal("75.00"),
            token=token,
            idempotency_key="storm-key",
        )
        return (payment.pk, payment.status, payment.provider_reference, payment.captured_amount)

    results = run_together(THREADS, pay)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert len(set(results)) == 1  # all 50 got the same answer
    payment = Payment.objects.get()
    assert results[0] == (payment.pk, "captured", payment.provider_reference, Decimal("75.00"))
    assert payment.operations.filter(kind="capture", status="succeeded").count() == 1
    assert PaymentOperation.objects.count() == 2
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    if gateway == "stripe":
        assert fake.charges_made == 1
        assert len(fake.requests) == 1
    else:
        assert len(simulated.CALLS) == 1
        assert len(simulated.charges("storm-key")) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_payments_with_different_keys_never_overpay(make_order):
    order = make_order(total="40.00")

    def pay(index: int):
        payment = payment_start(
            order=Order.objects.get(pk=order.pk),
            method="card_online",
            amount=Decimal("40.00"),
            token="sim_ok",
            idempotency_key=f"race-{index}",
        )
        return payment.status

    results = run_together(10, pay)

    assert Counter(type(r).__name__ if isinstance(r, Exception) else r for r in results) == {
        "captured": 1,
        "AmountExceeds": 9,
    }
    assert all(isinstance(r, AmountExceeds | str) for r in results)
    assert {r.code for r in results if isinstance(r, Exception)} == {"payment_exceeds_due"}
    assert Payment.objects.count() == 1
    assert len(simulated.charges()) == 1
