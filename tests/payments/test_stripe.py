"""The Stripe adapter against a local fake of Stripe's HTTP API (tests/payments/fake_stripe.py):
PaymentIntents, captures, refunds, Idempotency-Key, declines, signed webhooks."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from orders.models import Order
from payments.exceptions import PaymentDeclined, PaymentGatewayUnavailable, WebhookSignatureInvalid
from payments.gateways import gateway_get
from payments.gateways.stripe import StripeGateway, from_minor, to_minor
from payments.models import Payment, ProviderEvent
from payments.services.capture import payment_capture
from payments.services.refund import payment_refund
from payments.services.start import payment_start
from payments.services.webhooks import provider_event_process
from unicommerce.webhooks import signing

PS = Order.PaymentStatus


@pytest.fixture
def stripe_default(settings, fake_stripe):
    settings.PAYMENT_GATEWAY = "stripe"
    return fake_stripe


def test_the_configured_gateway_is_stripe_pointing_at_the_configured_base(stripe_default):
    gateway = gateway_get()
    assert isinstance(gateway, StripeGateway)
    assert gateway.api_base == stripe_default.url
    assert (to_minor(Decimal("12.34"), "EUR"), to_minor(Decimal("1200"), "JPY")) == (1234, 1200)
    assert from_minor(1234, "eur") == Decimal("12.34")


def test_a_card_payment_is_a_confirmed_payment_intent(make_order, stripe_default):
    order = make_order(total="49.90")

    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("49.90"),
        token="pm_card_visa",
        idempotency_key="s1",
    )

    assert (payment.gateway, payment.status, payment.captured_amount) == (
        "stripe",
        "captured",
        Decimal("49.90"),
    )
    assert payment.provider_reference.startswith("pi_")
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    order.refresh_from_db()
    assert order.payment_status == PS.PAID
    [(path, form, headers)] = stripe_default.requests
    assert path == "/v1/payment_intents"
    assert form["amount"] == "4990"
    assert form["currency"] == "eur"
    assert form["confirm"] == "true"
    assert form["capture_method"] == "automatic"
    assert form["metadata[order]"] == order.reference
    assert headers["Idempotency-Key"] == "s1"
    assert headers["Authorization"] == f"Bearer {stripe_default.secret_key}"


def test_a_decline_is_recorded_as_a_failure(make_order, stripe_default):
    order = make_order(total="20.00")

    with pytest.raises(PaymentDeclined) as declined:
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("20"),
            token="pm_card_chargeDeclined",
            idempotency_key="s2",
        )

    payment = Payment.objects.get()
    assert declined.value.details["decline_code"] == "generic_decline"
    assert payment.status == "failed"
    assert payment.provider_reference.startswith("pi_")
    failure = payment.operations.last()
    assert (failure.kind, failure.error_code, failure.error_message) == (
        "failure",
        "generic_decline",
        "Your card was declined.",
    )
    assert stripe_default.charges_made == 0


def test_authorise_capture_and_partial_refund(make_order, stripe_default):
    order = make_order(total="100.00")
    held = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("100"),
        token="pm_card_visa",
        idempotency_key="s3",
        capture=False,
    )
    assert held.status == "authorised"

    captured = payment_capture(payment=held, idempotency_key="s3-capture")
    refund = payment_refund(
        payment=captured, amount=Decimal("25.50"), idempotency_key="s3-refund", reason="damaged"
    )

    captured.refresh_from_db()
    order.refresh_from_db()
    assert (captured.status, captured.captured_amount, captured.refunded_amount) == (
        "partially_refunded",
        Decimal("100.00"),
        Decimal("25.50"),
    )
    assert refund.provider_reference.startswith("re_")
    assert order.payment_status == PS.PARTIALLY_REFUNDED
    paths = [
        (path, form.get("amount_to_capture") or form.get("amount"))
        for path, form, _ in stripe_default.requests
    ]
    assert paths == [
        ("/v1/payment_intents", "10000"),
        (f"/v1/payment_intents/{held.provider_reference}/capture", "10000"),
        ("/v1/refunds", "2550"),
    ]
    assert (
        stripe_default.refunds[refund.provider_reference]["payment_intent"]
        == held.provider_reference
    )


def test_a_lost_answer_is_resent_with_the_same_idempotency_key_and_charges_once(
    make_order, stripe_default
):
    order = make_order(total="30.00")
    stripe_default.lose_next_answers = 1

    with pytest.raises(PaymentGatewayUnavailable):
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("30"),
            token="pm_card_visa",
            idempotency_key="s4",
        )
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("30"),
        token="pm_card_visa",
        idempotency_key="s4",
    )

    assert payment.status == "captured"
    assert stripe_default.charges_made == 1
    assert [headers["Idempotency-Key"] for _, _, headers in stripe_default.requests] == ["s4", "s4"]
    assert len(stripe_default.intents) == 1


def test_a_processing_payment_is_settled_by_a_signed_webhook_once(make_order, stripe_default):
    order = make_order(total="60.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("60"),
        token="pm_card_processing",
        idempotency_key="s5",
    )
    assert payment.status == "pending"
    intent = stripe_default.intent_settle(payment.provider_reference)
    body, headers = stripe_default.webhook("payment_intent.succeeded", intent, event_id="evt_1")

    first = provider_event_process(gateway="stripe", body=body, headers=headers)
    second = provider_event_process(gateway="stripe", body=body, headers=headers)

    assert (first.result, second.result) == ("processed", "duplicate")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("60.00"))
    assert order.payment_status == PS.PAID
    assert payment.operations.filter(kind="capture", status="succeeded").count() == 1
    assert ProviderEvent.objects.get().type == "payment_intent.succeeded"


def test_stripe_webhooks_with_a_bad_or_old_signature_are_refused(make_order, stripe_default):
    order = make_order(total="60.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("60"),
        token="pm_card_processing",
        idempotency_key="s6",
    )
    intent = stripe_default.intent_settle(payment.provider_reference)
    body, _ = stripe_default.webhook("payment_intent.succeeded", intent)
    secret = stripe_default.webhook_secret
    cases = {
        "signature does not match": signing.signature_header("whsec_someone_else", body),
        "missing signature header": None,
        "timestamp outside the replay window": signing.signature_header(
            secret, body, timestamp=int(time.time()) - 600
        ),
    }

    for reason, header in cases.items():
        headers = {"Stripe-Signature": header} if header else {}
        with pytest.raises(WebhookSignatureInvalid) as refused:
            provider_event_process(gateway="stripe", body=body, headers=headers)
        assert refused.value.details["reason"] == reason

    payment.refresh_from_db()
    assert payment.status == "pending"
    assert not ProviderEvent.objects.exists()


def test_a_refund_made_in_the_stripe_dashboard_arrives_by_webhook(
    client, make_order, stripe_default, settings
):
    settings.ROOT_URLCONF = "tests.payments.urls"
    order = make_order(total="40.00")
    payment = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("40"),
        token="pm_card_visa",
        idempotency_key="s7",
    )
    refund = {
        "id": "re_dashboard",
        "object": "refund",
        "amount": 1000,
        "currency": "eur",
        "payment_intent": payment.provider_reference,
        "status": "succeeded",
    }
    body, headers = stripe_default.webhook("refund.created", refund, event_id="evt_refund")

    response = client.post(
        "/payments/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
    )

    assert response.status_code == 200
    assert response.json() == {"result": "processed", "event_id": "evt_refund"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    assert order.payment_status == PS.PARTIALLY_REFUNDED
