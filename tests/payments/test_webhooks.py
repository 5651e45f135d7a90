"""Provider webhooks through the simulated gateway: delayed and duplicated confirmations
(delivered by the ``payments.simulated_webhook`` task), signatures, replays, the endpoint,
and recovering a charge whose answer was lost; then, for every gateway, bodies over the
size cap (413) and malformed bodies (400), refused before anything is stored."""

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
from payments.services.operations import payment_claims_resume
from payments.services.start import payment_start
from payments.services.webhooks import provider_event_process
from payments.tasks import simulated_webhook
from unicommerce.webhooks import signing

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


# --- size cap and malformed bodies: refused before anything is stored


def signed_meta(body: bytes, gateway: str, settings) -> dict[str, str]:
    if gateway == "stripe":
        header = signing.signature_header(settings.STRIPE_WEBHOOK_SECRET, body)
        return {"HTTP_STRIPE_SIGNATURE": header}
    return {"HTTP_SIMULATED_SIGNATURE": simulated.webhook_headers(body)[simulated.SIGNATURE_HEADER]}


@pytest.fixture
def pending(make_order) -> Payment:
    """A payment waiting for its confirmation: what a bad webhook must not touch."""
    return payment_start(
        order=make_order(total="25.00"),
        method="card_online",
        amount=Decimal("25"),
        token="sim_delayed",
        idempotency_key="waiting",
    )


def padded(document: dict, size: int) -> bytes:
    """``document`` as JSON of exactly ``size`` bytes (trailing spaces are valid JSON)."""
    body = json.dumps(document).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("gateway", ["simulated", "stripe"])
def test_a_body_over_the_cap_is_refused_with_413_and_nothing_is_stored(
    client, settings, request, pending, gateway
):
    settings.ROOT_URLCONF = "tests.payments.urls"
    settings.PAYMENT_WEBHOOK_MAX_BYTES = 1024
    if gateway == "stripe":
        request.getfixturevalue("fake_stripe")
        settings.PAYMENT_GATEWAY = "stripe"
    document = {
        "id": "evt-big",
        "type": "payment.succeeded",
        "data": {"reference": pending.provider_reference, "amount": "25.00", "currency": "EUR"},
    }
    before = snapshot()
    over = padded(document, 1025)

    response = client.post(
        f"/payments/webhooks/{gateway}/",
        over,
        content_type="application/json",
        **signed_meta(over, gateway, settings),
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": "The webhook body is too large.",
            "details": {"gateway": gateway, "max_bytes": 1024},
        }
    }
    assert snapshot() == before
    assert not ProviderEvent.objects.exists()


def test_a_body_of_exactly_the_cap_is_processed(client, settings, pending):
    settings.ROOT_URLCONF = "tests.payments.urls"
    settings.PAYMENT_WEBHOOK_MAX_BYTES = 1024
    body = padded(
        {
            "id": "evt-full",
            "type": "payment.succeeded",
            "data": {"reference": pending.provider_reference, "amount": "25.00", "currency": "EUR"},
        },
        1024,
    )

    response = client.post(
        URL, body, content_type="application/json", **signed_meta(body, "simulated", settings)
    )

    assert (response.status_code, response.json()["result"]) == (200, "processed")
    pending.refresh_from_db()
    assert pending.status == "captured"


def test_the_default_cap_answers_before_djangos_own_upload_limit(client, settings, pending):
    """3 MB is over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): still our 413, not Django's 400."""
    settings.ROOT_URLCONF = "tests.payments.urls"
    body = b'{"id": "evt-huge", "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    before = snapshot()

    response = client.post(
        URL, body, content_type="application/json", **signed_meta(body, "simulated", settings)
    )

    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"gateway": "simulated", "max_bytes": 65536}
    assert snapshot() == before
    assert not ProviderEvent.objects.exists()


def simulated_document(reference: str, **data) -> dict:
    return {
        "id": "evt-bad",
        "type": "payment.succeeded",
        "data": {"reference": reference, "amount": "25.00", "currency": "EUR", **data},
    }


def raw(text: str):
    return lambda reference: text.replace("REF", reference).encode()


def doc(change):
    def make(reference: str) -> bytes:
        document = simulated_document(reference)
        change(document)
        return json.dumps(document).encode()

    return make


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


SIMULATED_MALFORMED = {
    "amount not a number": doc(lambda d: d["data"].update(amount="x")),
    "amount a list": doc(lambda d: d["data"].update(amount=[])),
    "amount an object": doc(lambda d: d["data"].update(amount={})),
    "amount a boolean": doc(lambda d: d["data"].update(amount=True)),
    "amount a float": doc(lambda d: d["data"].update(amount=25.5)),
    "amount NaN text": doc(lambda d: d["data"].update(amount="NaN")),
    "amount Infinity text": doc(lambda d: d["data"].update(amount="Infinity")),
    "amount negative": doc(lambda d: d["data"].update(amount="-5.00")),
    "amount huge exponent": doc(lambda d: d["data"].update(amount="1e999999999")),
    "amount too many digits": doc(lambda d: d["data"].update(amount="12345678901234.00")),
    "amount huge integer": doc(lambda d: d["data"].update(amount=10**40)),
    "number over float range": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": 1e999}}'
    ),
    "NaN literal": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": NaN}}'
    ),
    "integer over 4300 digits": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": '
        + "9" * 5000
        + "}}"
    ),
    "missing id": doc(lambda d: d.pop("id")),
    "missing type": doc(lambda d: d.pop("type")),
    "missing data": doc(lambda d: d.pop("data")),
    "missing reference": doc(lambda d: d["data"].pop("reference")),
    "id a number": doc(lambda d: d.update(id=123)),
    "id null": doc(lambda d: d.update(id=None)),
    "id empty": doc(lambda d: d.update(id="")),
    "id too long": doc(lambda d: d.update(id="e" * 256)),
    "type a list": doc(lambda d: d.update(type=["payment.succeeded"])),
    "data a string": doc(lambda d: d.update(data="x")),
    "data a list": doc(lambda d: d.update(data=[1])),
    "reference a number": doc(lambda d: d["data"].update(reference=42)),
    "currency too long": doc(lambda d: d["data"].update(currency="EURO")),
    "currency a number": doc(lambda d: d["data"].update(currency=978)),
    "NUL in the reference": doc(lambda d: d["data"].update(reference="sim\u0000pi")),
    "NUL in another field": doc(lambda d: d.update(note="a\u0000b")),
    "NUL in a key": doc(lambda d: d["data"].update({"\u0000": 1})),
    "raw NUL byte": raw('{"id": "e\x00", "type": "payment.succeeded", "data": {}}'),
    "lone surrogate": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": "\\ud800"}}'
    ),
    "nested too deeply": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": '
        + nested(100)
        + "}}"
    ),
    "nested beyond the recursion limit": raw(
        '{"id": "e", "type": "payment.succeeded", "data": {"reference": "REF", "x": '
        + nested(20000)
        + "}}"
    ),
    "not JSON": raw("not json"),
    "not UTF-8": lambda reference: b'{"id": "\xff\xfe"}',
    "empty": raw(""),
    "an array": raw("[]"),
    "a string": raw('"REF"'),
}


@pytest.mark.parametrize("make", SIMULATED_MALFORMED.values(), ids=SIMULATED_MALFORMED.keys())
def test_a_malformed_simulated_event_answers_400_and_changes_nothing(
    client, settings, pending, make
):
    settings.ROOT_URLCONF = "tests.payments.urls"
    body = make(pending.provider_reference)
    before = snapshot()

    response = client.post(
        URL, body, content_type="application/json", **signed_meta(body, "simulated", settings)
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid", "The webhook body is not valid.")
    assert error["details"]["gateway"] == "simulated"
    assert snapshot() == before
    assert not ProviderEvent.objects.exists()
    pending.refresh_from_db()
    assert pending.status == "pending"


def stripe_intent(reference: str, **fields) -> dict:
    return {
        "id": reference,
        "object": "payment_intent",
        "amount": 6000,
        "amount_received": 6000,
        "currency": "eur",
        "status": "succeeded",
        **fields,
    }


def stripe_event(obj, **fields) -> dict:
    return {
        "id": "evt_bad",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": obj},
        **fields,
    }


STRIPE_MALFORMED = {
    "object a list": lambda ref: stripe_event([stripe_intent(ref)]),
    "object a string": lambda ref: stripe_event(ref),
    "object missing": lambda ref: {**stripe_event({}), "data": {}},
    "data missing": lambda ref: {k: v for k, v in stripe_event({}).items() if k != "data"},
    "id missing": lambda ref: {
        k: v for k, v in stripe_event(stripe_intent(ref)).items() if k != "id"
    },
    "id a number": lambda ref: stripe_event(stripe_intent(ref), id=7),
    "type a number": lambda ref: stripe_event(stripe_intent(ref), type=7),
    "NUL in the id": lambda ref: stripe_event(stripe_intent(ref), id="evt_\u0000"),
    "amount not a number": lambda ref: stripe_event(stripe_intent(ref, amount_received="x")),
    "amount a float": lambda ref: stripe_event(stripe_intent(ref, amount_received=60.5)),
    "amount a boolean": lambda ref: stripe_event(stripe_intent(ref, amount_received=True)),
    "amount negative": lambda ref: stripe_event(stripe_intent(ref, amount_received=-100)),
    "amount huge": lambda ref: stripe_event(stripe_intent(ref, amount_received=10**30)),
    "currency a number": lambda ref: stripe_event(stripe_intent(ref, currency=978)),
    "currency too long": lambda ref: stripe_event(stripe_intent(ref, currency="euro")),
    "payment intent id a number": lambda ref: stripe_event(stripe_intent(ref, id=5)),
    "error a string": lambda ref: stripe_event(
        stripe_intent(ref, status="requires_payment_method", last_payment_error="declined"),
        type="payment_intent.payment_failed",
    ),
    "refund amount not a number": lambda ref: stripe_event(
        {
            "id": "re_1",
            "object": "refund",
            "amount": "x",
            "currency": "eur",
            "payment_intent": ref,
            "status": "succeeded",
        },
        type="refund.created",
    ),
    "refund payment intent a list": lambda ref: stripe_event(
        {
            "id": "re_1",
            "object": "refund",
            "amount": 100,
            "currency": "eur",
            "payment_intent": [ref],
            "status": "succeeded",
        },
        type="refund.created",
    ),
}


@pytest.mark.parametrize("make", STRIPE_MALFORMED.values(), ids=STRIPE_MALFORMED.keys())
def test_a_malformed_stripe_event_answers_400_and_changes_nothing(
    client, settings, make_order, fake_stripe, make
):
    settings.ROOT_URLCONF = "tests.payments.urls"
    settings.PAYMENT_GATEWAY = "stripe"
    payment = payment_start(
        order=make_order(total="60.00"),
        method="card_online",
        amount=Decimal("60"),
        token="pm_card_processing",
        idempotency_key="stripe-waiting",
    )
    body = json.dumps(make(payment.provider_reference)).encode()
    before = snapshot()

    response = client.post(
        "/payments/webhooks/stripe/",
        body,
        content_type="application/json",
        **signed_meta(body, "stripe", settings),
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["details"]["gateway"]) == ("invalid", "stripe")
    assert snapshot() == before
    assert not ProviderEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_card_details_of_an_unexpected_shape_are_left_out_not_an_error(
    settings, make_order, fake_stripe
):
    settings.PAYMENT_GATEWAY = "stripe"
    payment = payment_start(
        order=make_order(total="60.00"),
        method="card_online",
        amount=Decimal("60"),
        token="pm_card_processing",
        idempotency_key="stripe-card-shape",
    )
    intent = stripe_intent(
        payment.provider_reference, latest_charge={"payment_method_details": "card"}
    )
    body = json.dumps(stripe_event(intent)).encode()
    headers = {"Stripe-Signature": signing.signature_header(settings.STRIPE_WEBHOOK_SECRET, body)}

    outcome = provider_event_process(gateway="stripe", body=body, headers=headers)

    assert outcome.result == "processed"
    payment.refresh_from_db()
    assert (payment.status, payment.card_last4) == ("captured", "")
