"""Messages that carry a secret (a payment link's token, a pickup code) are not kept
once sent, and the back office never shows their text, not even while they wait."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Shipment
from orders.services.collect import shipment_ready
from tests.factories import CustomerFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import REDACTED, message_send
from unicommerce.messaging.tasks import message_send_task

pytestmark = pytest.mark.django_db
COLLECT = "collect"


@pytest.fixture
def manager_client(client, django_user_model):
    manager = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client.force_login(manager)
    return client


def _ready(shop, stocked_variant, make_order, **order_fields) -> Shipment:
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], **order_fields)
    return shipment_ready(shipment=order.shipments.get())


def test_the_pickup_code_is_not_kept_once_the_sms_is_sent(shop, stocked_variant, make_order):
    customer = CustomerFactory(phone="+33612345678")
    shipment = _ready(shop, stocked_variant, make_order, customer=customer)
    message = Message.objects.get(kind="order.ready_for_pickup")
    assert message.redact_after_send is True

    assert message_send_task(message.pk) == "sent"

    message.refresh_from_db()
    [sent] = backends.outbox
    assert shipment.pickup_code in sent.body  # the customer got it
    assert message.body == REDACTED
    assert not Message.objects.filter(body__contains=shipment.pickup_code).exists()


def test_the_pickup_code_by_email_is_not_kept_either(shop, stocked_variant, make_order):
    shipment = _ready(
        shop, stocked_variant, make_order, email="ana@example.com", with_customer=False
    )
    message = Message.objects.get()

    assert message_send_task(message.pk) == "sent"

    message.refresh_from_db()
    assert (message.channel, message.body) == ("email", REDACTED)
    assert shipment.pickup_code in backends.outbox[0].body


def test_over_the_sms_limit_the_pickup_code_goes_by_email(
    shop, stocked_variant, make_order, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "1/day"}
    message_send(channel="sms", to="+33612345678", body="Earlier", kind="t")
    customer = CustomerFactory(phone="+33612345678", email="ana@example.com")

    shipment = _ready(shop, stocked_variant, make_order, customer=customer)

    assert shipment.status == Shipment.Status.READY
    message = Message.objects.get(kind="order.ready_for_pickup")
    assert (message.channel, message.to) == ("email", "ana@example.com")
    event = shipment.order.events.get(kind="shipment_ready")
    assert event.data["notified_by"] == "email"


def test_a_phone_sms_may_not_reach_gets_the_pickup_code_by_email(shop, stocked_variant, make_order):
    customer = CustomerFactory(phone="+447700900123", email="ana@example.com")

    _ready(shop, stocked_variant, make_order, customer=customer)

    message = Message.objects.get(kind="order.ready_for_pickup")
    assert (message.channel, message.to) == ("email", "ana@example.com")


def test_the_admin_never_shows_a_secret_text_even_before_it_is_sent(
    manager_client, shop, stocked_variant, make_order
):
    customer = CustomerFactory(phone="+33612345678")
    shipment = _ready(shop, stocked_variant, make_order, customer=customer)
    link = message_send(
        channel="sms",
        to="+33612345678",
        body="Pay here: https://shop.example/pay/tok-SECRET-123/",
        kind="payment_link",
        redact_after_send=True,
    )
    plain = message_send(channel="sms", to="+33612345678", body="Plain text", kind="t")
    queued = Message.objects.filter(status="queued", redact_after_send=True).count()
    assert queued == 2

    pages = [
        manager_client.get(reverse("admin:messaging_message_change", args=[pk]))
        for pk in Message.objects.values_list("pk", flat=True)
    ]
    listing = manager_client.get(reverse("admin:messaging_message_changelist"))
    searched = manager_client.get(
        reverse("admin:messaging_message_changelist"), {"q": shipment.pickup_code}
    )

    assert all(page.status_code == 200 for page in [*pages, listing, searched])
    for page in [*pages, listing]:
        text = page.content.decode()
        assert shipment.pickup_code not in text
        assert "tok-SECRET-123" not in text
    assert any("Plain text" in page.content.decode() for page in pages)  # others are shown
    assert searched.context["cl"].result_count == 0  # the text is not searchable
    link.refresh_from_db()
    plain.refresh_from_db()
    assert "tok-SECRET-123" in link.body  # still there for the worker to send
