"""Only the configured gateway of remote methods exists: with Stripe configured, the
simulated gateway (which marks orders paid without money) and its webhook URL are gone;
its webhook secret comes from the settings, with no public default; the deployment checks
refuse it in production unless a demo is declared."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from payments.checks import payment_gateway_check
from payments.exceptions import GatewayUnknown, PaymentMethodUnsupported, WebhookSignatureInvalid
from payments.gateways import gateway_get, simulated
from payments.gateways.manual import ManualGateway
from payments.gateways.simulated import SimulatedGateway
from payments.gateways.stripe import StripeGateway
from payments.models import Payment, PaymentOperation, ProviderEvent
from payments.services.start import payment_start
from payments.services.webhooks import provider_event_process
from unicommerce.webhooks import signing

OLD_PUBLIC_SECRET = "whsec_simulated_gateway_not_secret"


def meta(headers: dict[str, str]) -> dict[str, str]:
    return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def simulated_event(reference: str = "sim_pi_x", event_id: str = "evt-1") -> bytes:
    return simulated.webhook_body(
        event_id=event_id,
        event_type="payment.succeeded",
        reference=reference,
        amount="25.00",
        currency="EUR",
    )


def nothing_recorded() -> tuple:
    return (
        Payment.objects.count(),
        PaymentOperation.objects.count(),
        ProviderEvent.objects.count(),
        list(Order.objects.values_list("payment_status", flat=True)),
    )


def test_with_stripe_configured_the_simulated_webhook_is_not_found(client, settings, make_order):
    settings.ROOT_URLCONF = "tests.payments.urls"
    settings.PAYMENT_GATEWAY = "stripe"
    make_order(total="25.00")
    before = nothing_recorded()
    body = simulated_event()

    signed_with_the_setting = client.post(
        "/payments/webhooks/simulated/",
        body,
        content_type="application/json",
        **meta(simulated.webhook_headers(body)),
    )
    signed_with_the_old_default = client.post(
        "/payments/webhooks/simulated/",
        body,
        content_type="application/json",
        HTTP_SIMULATED_SIGNATURE=signing.signature_header(OLD_PUBLIC_SECRET, body),
    )

    for response in (signed_with_the_setting, signed_with_the_old_default):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "gateway_unknown"
    assert nothing_recorded() == before
    with pytest.raises(GatewayUnknown):
        provider_event_process(
            gateway="simulated", body=body, headers=simulated.webhook_headers(body)
        )
    assert nothing_recorded() == before


def test_with_stripe_configured_the_simulated_gateway_cannot_take_a_payment(settings, make_order):
    settings.PAYMENT_GATEWAY = "stripe"
    order = make_order(total="25.00")
    before = nothing_recorded()

    with pytest.raises(PaymentMethodUnsupported) as refused:
        payment_start(
            order=order,
            method="card_online",
            gateway="simulated",
            amount=Decimal("25"),
            token="sim_ok",
            idempotency_key="chosen-simulated",
        )

    assert refused.value.details == {"method": "card_online", "gateway": "simulated"}
    assert nothing_recorded() == before
    assert simulated.CALLS == []
    with pytest.raises(GatewayUnknown):
        gateway_get("simulated")
    assert isinstance(gateway_get(), StripeGateway)


def test_with_the_simulated_gateway_configured_there_is_no_stripe(client, settings, db):
    settings.ROOT_URLCONF = "tests.payments.urls"
    settings.PAYMENT_GATEWAY = "simulated"

    response = client.post("/payments/webhooks/stripe/", b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "gateway_unknown"
    assert isinstance(gateway_get(), SimulatedGateway)
    with pytest.raises(GatewayUnknown):
        gateway_get("stripe")
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize("configured", ["simulated", "stripe"])
def test_money_taken_in_person_is_there_whatever_the_remote_gateway(settings, configured):
    settings.PAYMENT_GATEWAY = configured

    assert isinstance(gateway_get("manual"), ManualGateway)


def test_the_simulated_webhook_secret_is_the_setting_and_the_old_public_one_is_refused(
    settings, db
):
    settings.PAYMENT_SIMULATED_WEBHOOK_SECRET = "whsec_from_the_environment"
    body = simulated_event()
    old = {"Simulated-Signature": signing.signature_header(OLD_PUBLIC_SECRET, body)}

    with pytest.raises(WebhookSignatureInvalid) as refused:
        provider_event_process(gateway="simulated", body=body, headers=old)
    accepted = provider_event_process(
        gateway="simulated",
        body=body,
        headers={
            "Simulated-Signature": signing.signature_header("whsec_from_the_environment", body)
        },
    )

    assert refused.value.details["reason"] == "signature does not match"
    assert accepted.result == "unmatched"


def test_without_a_secret_the_simulated_gateway_refuses_every_webhook(settings, db):
    del settings.PAYMENT_SIMULATED_WEBHOOK_SECRET  # not set at all: no default either
    body = simulated_event()

    with pytest.raises(WebhookSignatureInvalid) as refused:
        provider_event_process(
            gateway="simulated",
            body=body,
            headers={"Simulated-Signature": signing.signature_header(OLD_PUBLIC_SECRET, body)},
        )
    with pytest.raises(WebhookSignatureInvalid) as refused_empty:
        provider_event_process(
            gateway="simulated",
            body=body,
            headers={"Simulated-Signature": signing.signature_header("", body)},
        )

    assert refused.value.details["reason"] == "PAYMENT_SIMULATED_WEBHOOK_SECRET is not set"
    assert refused_empty.value.details["reason"] == "PAYMENT_SIMULATED_WEBHOOK_SECRET is not set"
    assert not ProviderEvent.objects.exists()


# --- deployment checks (`manage.py check --deploy`)


def ids(messages) -> list[tuple[str, bool]]:
    return [(m.id, m.is_serious()) for m in messages]


def test_deploy_refuses_the_simulated_gateway_unless_a_demo_is_declared(settings):
    settings.PAYMENT_GATEWAY = "simulated"
    settings.PAYMENT_SIMULATED_WEBHOOK_SECRET = "whsec_demo"
    settings.ALLOW_DEMO_SERVICES = False

    assert ids(payment_gateway_check()) == [("payments.E002", True)]

    settings.ALLOW_DEMO_SERVICES = True
    assert payment_gateway_check() == []


def test_deploy_refuses_a_demo_whose_simulated_webhooks_have_no_secret(settings):
    settings.PAYMENT_GATEWAY = "simulated"
    settings.PAYMENT_SIMULATED_WEBHOOK_SECRET = ""
    settings.ALLOW_DEMO_SERVICES = True

    assert ids(payment_gateway_check()) == [("payments.E003", True)]

    settings.ALLOW_DEMO_SERVICES = False
    assert ids(payment_gateway_check()) == [("payments.E002", True), ("payments.E003", True)]


def test_deploy_refuses_stripe_without_its_keys_and_accepts_it_with_them(settings):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.ALLOW_DEMO_SERVICES = False
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"

    assert ids(payment_gateway_check()) == [("payments.E001", True)]

    settings.STRIPE_SECRET_KEY = "sk_live_x"
    assert payment_gateway_check() == []
