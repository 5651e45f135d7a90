"""Provider webhooks through the simulated gateway: delayed and duplicated confirmations
(delivered by the ``payments.simulated_webhook`` task), signatures, replays, the endpoint,
and recovering a charge whose answer was lost."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from orders.models import Order
from payments.exceptions import PaymentGatewayUnavailable, WebhookSignatureInvalid
from payments.gateways import simulated
from payments.models import Payment, PaymentOperation, ProviderEvent
from payments.operations import payment_claims_resume, payment_start, provider_event_process
from payments.tasks import simulated_webhook

PS = Order.PaymentStatus
URL = "/payments/webhooks/simulated/"


def ledger(payment: Payment) -> list[tuple[str, str]]:
    return [(op.kind, op.status) for op in payment.operations.order_by("id")]


def snapshot() -> tuple:
    return (
        list(Payment.objects.order_by("id").values_list("status", "captured_amount")),
        PaymentOperation.objects.count(),
        list(Order.objects.values_list("payment_status", flat=True)),
    )


def test_a_delayed_payment_is_pending_until_its_signed_confirmation_arrives(
    make_order, django_capture_on_commit_callbacks
):
    order = make_order(total="40.00")
    with django_capture_on_commit_callbacks() as callbacks:
        payment = payment_start(
            order=order,
            method="payment_link",
            amount=Decimal("40"),
            token="sim_delayed",
            idempotency_key="late",
        )
    assert payment.status == "pending"
    assert ledger(payment) == [("capture", "pending"), ("capture", "pending")]
    order.refresh_from_db()
    assert order.payment_status == PS.UNPAID
    assert len(simulated.WEBHOOKS) == 1
    assert len(callbacks) == 1  # the task is queued only once the outcome is committed

    result = simulated_webhook(**simulated.WEBHOOKS[0])

    assert result == "processed"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("40.00"))
    assert ledger(payment) == [
        ("capture", "pending"),
        ("capture", "pending"),
        ("capture", "succeeded"),
    ]
    assert order.payment_status == PS.PAID
    event = ProviderEvent.objects.get()
    assert (event.gateway, event.signature_verified, event.result) == (
        "simulated",
        True,
        "processed",
    )
    assert payment.operations.last().provider_event == event
    # The client retrying its request now gets the settled payment.
    again = payment_start(
        order=order,
        method="payment_link",
        amount=Decimal("40"),
        token="sim_delayed",
        idempotency_key="late",
    )
    assert (again.pk, again.status) == (payment.pk, "captured")


def test_a_duplicated_confirmation_changes_nothing_the_second_time(make_order):
    order = make_order(total="25.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("25"),
        token="sim_duplicate_webhook",
        idempotency_key="dup",
    )
    first, second = simulated.WEBHOOKS
    assert first == second

    assert simulated_webhook(**first) == "processed"
    before = snapshot()
    assert simulated_webhook(**second) == "duplicate"

    assert snapshot() == before
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("25.00"))
    assert ProviderEvent.objects.count() == 1
    assert payment.operations.filter(kind="capture", status="succeeded").count() == 1


def test_the_endpoint_processes_then_answers_duplicate(client, make_order, settings):
    settings.ROOT_URLCONF = "tests.payments.urls"
    order = make_order(total="25.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("25"),
        token="sim_delayed",
        idempotency_key="e",
    )
    body = simulated.webhook_body(**simulated.WEBHOOKS[0])
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v for k, v in simulated.webhook_headers(body).items()
    }

    first = client.post(URL, body, content_type="application/json", **headers)
    second = client.post(URL, body, content_type="application/json", **headers)

    assert (first.status_code, first.json()["result"]) == (200, "processed")
    assert (second.status_code, second.json()["result"]) == (200, "duplicate")
    payment.refresh_from_db()
    assert payment.status == "captured"
    assert payment.operations.filter(kind="capture", status="succeeded").count() == 1


def test_a_bad_signature_is_refused_with_the_error_shape_and_changes_nothing(
    client, make_order, settings
):
    settings.ROOT_URLCONF = "tests.payments.urls"
    order = make_order(total="25.00")
    payment_start(
        order=order,
        method="card_online",
        amount=Decimal("25"),
        token="sim_delayed",
        idempotency_key="b",
    )
    body = simulated.webhook_body(**simulated.WEBHOOKS[0])
    forged = simulated.webhook_headers(body)[simulated.SIGNATURE_HEADER].replace("v1=", "v1=00")
    before = snapshot()

    response = client.post(
        URL, body, content_type="application/json", HTTP_SIMULATED_SIGNATURE=forged
    )
    unsigned = client.post(URL, body, content_type="application/json")
    tampered_body = body.replace(b'"25.00"', b'"1.00"')
    tampered = client.post(
        URL,
        tampered_body,
        content_type="application/json",
        HTTP_SIMULATED_SIGNATURE=simulated.webhook_headers(body)[simulated.SIGNATURE_HEADER],
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "signature_invalid",
            "message": "The webhook signature is not valid.",
            "details": {"gateway": "simulated", "reason": "signature does not match"},
        }
    }
    assert unsigned.status_code == 400
    assert unsigned.json()["error"]["details"]["reason"] == "missing signature header"
    assert tampered.status_code == 400
    assert snapshot() == before
    assert not ProviderEvent.objects.exists()


def test_a_replayed_old_delivery_is_refused(make_order):
    order = make_order(total="25.00")
    payment_start(
        order=order,
        method="card_online",
        amount=Decimal("25"),
        token="sim_delayed",
        idempotency_key="r",
    )
    body = simulated.webhook_body(**simulated.WEBHOOKS[0])
    old = simulated.webhook_headers(body, timestamp=int(time.time()) - 3600)

    with pytest.raises(WebhookSignatureInvalid) as refused:
        provider_event_process(gateway="simulated", body=body, headers=old)

    assert refused.value.details["reason"] == "timestamp outside the replay window"
    assert Payment.objects.get().status == "pending"


def test_unknown_gateway_and_bad_body_answer_errors(client, settings):
    settings.ROOT_URLCONF = "tests.payments.urls"
    body = b"not json"
    headers = simulated.webhook_headers(body)

    unknown = client.post("/payments/webhooks/nope/", body, content_type="application/json")
    bad = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_SIMULATED_SIGNATURE=headers[simulated.SIGNATURE_HEADER],
    )
    get = client.get(URL)

    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "gateway_unknown"
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert get.status_code == 405


def test_a_confirmation_arriving_before_the_charge_is_recorded_is_applied_then(make_order):
    """A fast provider: the webhook lands while we still wait for the HTTP answer."""
    order = make_order(total="30.00")
    reference = simulated._id("sim_pi", "early")
    body = simulated.webhook_body(
        event_id="evt-early",
        event_type="payment.succeeded",
        reference=reference,
        amount="30.00",
        currency="EUR",
    )
    outcome = provider_event_process(
        gateway="simulated", body=body, headers=simulated.webhook_headers(body)
    )
    assert outcome.result == "unmatched"

    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("30"),
        token="sim_delayed",
        idempotency_key="early",
    )

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == "captured"
    assert order.payment_status == PS.PAID
    assert ProviderEvent.objects.get().processed_at is not None


def test_a_lost_answer_is_recovered_by_retrying_with_the_same_key(make_order):
    order = make_order(total="30.00")

    with pytest.raises(PaymentGatewayUnavailable):
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("30"),
            token="sim_timeout",
            idempotency_key="t",
        )
    payment = Payment.objects.get()
    assert payment.status == "pending"
    assert ledger(payment) == [("capture", "pending")]  # a claim without an outcome

    again = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("30"),
        token="sim_timeout",
        idempotency_key="t",
    )

    assert (again.pk, again.status) == (payment.pk, "captured")
    assert len(simulated.charges()) == 1
    assert [c.replayed for c in simulated.CALLS] == [False, True]


def test_claims_left_open_by_a_crash_are_resumed(make_order):
    order = make_order(total="30.00")
    with pytest.raises(PaymentGatewayUnavailable):
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("30"),
            token="sim_timeout",
            idempotency_key="c",
        )

    assert payment_claims_resume(older_than=timedelta(minutes=5)) == 0  # too recent
    assert payment_claims_resume(older_than=timedelta(0)) == 1

    payment = Payment.objects.get()
    order.refresh_from_db()
    assert (payment.status, order.payment_status) == ("captured", PS.PAID)
    assert len(simulated.charges()) == 1
    assert payment_claims_resume(older_than=timedelta(0)) == 0


def test_a_failure_webhook_fails_a_pending_payment(make_order):
    order = make_order(total="30.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("30"),
        token="sim_delayed",
        idempotency_key="f",
    )
    body = json.dumps(
        {
            "id": "evt-fail",
            "type": "payment.failed",
            "data": {"reference": payment.provider_reference, "amount": "30.00", "currency": "EUR"},
        }
    ).encode()

    outcome = provider_event_process(
        gateway="simulated", body=body, headers=simulated.webhook_headers(body)
    )

    assert outcome.result == "processed"
    payment.refresh_from_db()
    assert payment.status == "failed"
    assert ledger(payment)[-1] == ("failure", "failed")
