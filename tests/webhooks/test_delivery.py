"""Stock-changed webhooks, end to end in one process: a stock change, the stock worker's
handler (run here with run_outbox), then the sender (webhooks_flush) posting to a real
HTTP receiver on 127.0.0.1."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import ChannelStock
from inventory.services.stock import stock_receive, stock_sell
from tests.conftest import run_outbox
from tests.webhooks.receiver import Receiver
from unicommerce.webhooks import signing
from unicommerce.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from unicommerce.webhooks.services import (
    WebhookUrlInvalid,
    endpoint_create,
    endpoint_enable,
    webhooks_flush,
    webhooks_sweep,
)

Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(shop, receiver):
    return endpoint_create(channel=shop.web, url=receiver.url, event_types=["stock.changed"])


@pytest.fixture(autouse=True)
def _no_window(settings):
    settings.WEBHOOK_COALESCE_SECONDS = 0  # due at once: the tests call the sender


def send_due(endpoint) -> None:
    run_outbox()
    webhooks_flush(endpoint_id=endpoint.pk)


def make_due(endpoint) -> None:
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        next_attempt_at=timezone.now()
    )


def test_a_sale_reaches_the_channel_as_one_signed_delivery(
    shop, stocked_variant, endpoint, receiver
):
    variant = stocked_variant(store=3, warehouse=4)
    send_due(endpoint)
    receiver.calls.clear()

    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 2)])
    send_due(endpoint)

    [call] = receiver.calls
    figure = ChannelStock.objects.get(channel=shop.web, variant=variant)
    assert signing.verify(endpoint.secret, call.headers[signing.SIGNATURE_HEADER], call.body)
    assert call.headers[signing.EVENT_TYPE_HEADER] == "stock.changed"
    assert call.headers["Content-Type"] == "application/json"
    document = call.document
    assert document["type"] == "stock.changed"
    assert document["channel"] == "web"
    assert document["id"] == call.event_id
    assert document["data"] == {
        "sku": variant.sku,
        "variant_id": variant.pk,
        "quantity": 5,
        "version": figure.version,
        "computed_at": document["data"]["computed_at"],
    }
    delivery = WebhookDelivery.objects.get(event_id=call.event_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        1,
        200,
    )


def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    shop, stocked_variant, endpoint, receiver
):
    stocked_variant(store=1)
    send_due(endpoint)
    [call] = receiver.calls
    header = call.headers[signing.SIGNATURE_HEADER]

    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(endpoint.secret, header, call.body.replace(b'"quantity":1', b'"quantity":9'))
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify("whsec_someone_else", header, call.body)
    timestamp = signing.verify(endpoint.secret, header, call.body)
    with pytest.raises(signing.SignatureError, match="replay window"):
        signing.verify(endpoint.secret, header, call.body, now=timestamp + 301)


def test_only_the_channels_fed_by_the_location_hear_about_it(
    shop, stocked_variant, endpoint, receiver
):
    other = endpoint_create(
        channel=shop.store_channel, url=receiver.url + "?store", event_types=["stock.changed"]
    )
    variant = stocked_variant(warehouse=5)
    run_outbox()
    webhooks_flush(endpoint_id=endpoint.pk)
    webhooks_flush(endpoint_id=other.pk)
    # A new variant's first figures go to both channels (the store's is 0)…
    assert sorted(c.document["channel"] for c in receiver.calls) == ["store-paris", "web"]
    receiver.calls.clear()

    stock_receive(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=2)
    run_outbox()
    webhooks_flush(endpoint_id=endpoint.pk)
    webhooks_flush(endpoint_id=other.pk)

    # …then the warehouse, which feeds the web channel only, changes only the web's.
    assert [c.document["channel"] for c in receiver.calls] == ["web"]
    assert receiver.latest_quantities()[variant.sku][1] == 7


def test_a_burst_on_one_variant_becomes_one_delivery_with_the_latest_quantity(
    shop, stocked_variant, endpoint, receiver, settings
):
    variant = stocked_variant(store=20)
    send_due(endpoint)
    receiver.calls.clear()
    settings.WEBHOOK_COALESCE_SECONDS = 60  # everything below falls in one window

    for _ in range(7):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
        run_outbox()  # the worker hears of each sale separately
    webhooks_flush(endpoint_id=endpoint.pk)
    assert receiver.calls == []  # still inside the window
    make_due(endpoint)
    webhooks_flush(endpoint_id=endpoint.pk)

    [call] = receiver.calls
    figure = ChannelStock.objects.get(channel=shop.web, variant=variant)
    assert (call.document["data"]["quantity"], call.document["data"]["version"]) == (
        13,
        figure.version,
    )
    assert WebhookDelivery.objects.get(event_id=call.event_id).coalesced == 7


def test_versions_grow_per_variant_and_channel_so_a_late_update_is_detectable(
    shop, stocked_variant, endpoint, receiver
):
    variant = stocked_variant(store=5)
    send_due(endpoint)
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    send_due(endpoint)
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    send_due(endpoint)

    first, second, third = (c.document["data"] for c in receiver.calls)
    assert first["version"] < second["version"] < third["version"]
    assert [first["quantity"], second["quantity"], third["quantity"]] == [5, 4, 3]
    # Delivered in the other order, the receiver keeps the highest version: 3 units.
    receiver.calls.reverse()
    assert receiver.latest_quantities()[variant.sku] == (third["version"], 3)


def test_a_failing_receiver_gets_the_same_event_again_after_a_back_off(
    shop, stocked_variant, endpoint, receiver
):
    receiver.fail_first = 2
    stocked_variant(store=2)
    send_due(endpoint)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.PENDING,
        1,
        500,
    )
    assert delivery.next_attempt_at > timezone.now()  # backing off
    webhooks_flush(endpoint_id=endpoint.pk)
    assert len(receiver.calls) == 1  # not due yet

    for _ in range(2):
        make_due(endpoint)
        webhooks_flush(endpoint_id=endpoint.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert [c.event_id for c in receiver.calls] == [str(delivery.event_id)] * 3
    assert [c.headers[signing.ATTEMPT_HEADER] for c in receiver.calls] == ["1", "2", "3"]
    log = list(delivery.attempt_log.order_by("number").values_list("number", "status_code"))
    assert log == [(1, 500), (2, 500), (3, 200)]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).consecutive_failures == 0


def test_back_off_grows_exponentially_with_jitter(settings):
    from unicommerce.webhooks.services import backoff_seconds

    settings.WEBHOOK_RETRY_BASE_SECONDS = 2
    settings.WEBHOOK_RETRY_MAX_SECONDS = 60
    for attempt, full in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (9, 60)]:
        delays = {backoff_seconds(attempt) for _ in range(50)}
        assert all(full / 2 <= delay <= full for delay in delays), attempt
        assert len(delays) > 1  # jittered: retries of many deliveries do not stampede


def test_after_the_last_attempt_a_delivery_is_a_dead_letter(
    shop, stocked_variant, endpoint, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    stocked_variant(store=2)
    send_due(endpoint)
    for _ in range(3):
        make_due(endpoint)
        webhooks_flush(endpoint_id=endpoint.pk)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, len(receiver.calls)) == (Status.DEAD, 3, 3)
    assert "503" in delivery.last_error


def test_an_endpoint_that_keeps_failing_is_disabled_with_an_alert_and_keeps_its_events(
    shop, stocked_variant, endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.ADMINS = ["ops@example.com"]
    receiver.status = 500
    variants = [stocked_variant(store=2) for _ in range(3)]
    run_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_flush(endpoint_id=endpoint.pk)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "3 failed deliveries in a row" in endpoint.disabled_reason
    [alert] = mail.outbox
    assert endpoint.url in alert.subject
    # While disabled, changes keep collecting: one waiting delivery per variant, latest.
    stock_sell(location_id=shop.store.pk, lines=[(variants[0].pk, 1)])
    send_due(endpoint)
    assert len(receiver.calls) == 3
    waiting = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING)
    assert waiting.count() == 3

    receiver.status = 200
    endpoint_enable(endpoint=endpoint)
    webhooks_flush(endpoint_id=endpoint.pk)
    assert {sku: qty for sku, (_, qty) in receiver.latest_quantities().items()} == {
        variants[0].sku: 1,
        variants[1].sku: 2,
        variants[2].sku: 2,
    }


def test_a_receiver_answering_410_gone_disables_its_endpoint(
    shop, stocked_variant, endpoint, receiver
):
    receiver.status = 410
    stocked_variant(store=1)
    send_due(endpoint)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == Status.PENDING


def test_a_failed_delivery_is_superseded_by_a_newer_update_of_the_same_variant(
    shop, stocked_variant, endpoint, receiver
):
    variant = stocked_variant(store=5)
    run_outbox()
    old = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=old.pk).update(status=Status.SENDING)  # being sent…
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    run_outbox()  # …when a newer figure arrives: it waits in a new delivery

    from unicommerce.webhooks.services import _requeue

    _requeue(old.pk, at=timezone.now(), error="timeout")  # the old send failed

    old.refresh_from_db()
    assert old.status == Status.SUPERSEDED
    webhooks_flush(endpoint_id=endpoint.pk)
    assert [c.document["data"]["quantity"] for c in receiver.calls] == [4]


def test_the_sweep_hands_back_a_delivery_whose_sender_died(
    shop, stocked_variant, endpoint, receiver, settings
):
    stocked_variant(store=1)
    run_outbox()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=5), attempts=1
    )

    assert webhooks_sweep() == {"requeued": 1, "flushed": 1}
    webhooks_flush(endpoint_id=endpoint.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)
    assert [c.event_id for c in receiver.calls] == [str(delivery.event_id)]


def test_a_slow_receiver_never_slows_a_sale(shop, stocked_variant, endpoint, receiver):
    receiver.delay = 5
    variant = stocked_variant(store=2)

    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    run_outbox()  # even the stock worker's handler only queues the delivery

    assert receiver.calls == []
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == Status.PENDING
    assert not WebhookAttempt.objects.exists()


def test_a_receiver_that_times_out_is_recorded_and_retried(
    shop, stocked_variant, endpoint, receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1
    stocked_variant(store=1)
    send_due(endpoint)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    [attempt] = delivery.attempt_log.all()
    assert delivery.status == Status.PENDING
    assert attempt.status_code is None
    assert attempt.error == "Timed out: the receiver sent nothing for 0.3 s."
    assert delivery.last_error == attempt.error


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https:///hook", "name a host"),
        ("https://user:pw@example.com/hook", "no user name or password"),
        ("https://example.com:99999/hook", "not a valid URL"),
    ],
)
def test_an_endpoint_url_must_be_http_or_https(shop, url, problem):
    with pytest.raises(WebhookUrlInvalid, match=problem):
        endpoint_create(channel=shop.web, url=url, event_types=["stock.changed"])
    assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_refused_unless_allowed(shop, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    for url in ["http://127.0.0.1/h", "http://localhost/h", "http://10.0.0.5/h", "http://[::1]/h"]:
        with pytest.raises(WebhookUrlInvalid, match="public address"):
            endpoint_create(channel=shop.web, url=url, event_types=["stock.changed"])

    created = endpoint_create(
        channel=shop.web, url="https://shop.example.com/h", event_types=["stock.changed"]
    )
    assert created.secret.startswith("whsec_")


def test_an_unknown_event_type_is_refused(shop):
    from unicommerce.webhooks.services import UnknownEventType

    with pytest.raises(UnknownEventType, match=r"stock\.teleported"):
        endpoint_create(
            channel=shop.web, url="https://x.example/h", event_types=["stock.teleported"]
        )
    assert not WebhookEndpoint.objects.exists()


def test_a_public_name_re_pointed_at_this_network_is_not_called(
    shop, stocked_variant, settings, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    endpoint = endpoint_create(
        channel=shop.web, url="https://hooks.example.com/stock", event_types=["stock.changed"]
    )
    monkeypatch.setattr(
        "socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 0))]
    )
    stocked_variant(store=1)
    send_due(endpoint)

    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert "not allowed" in attempt.error
    assert "169.254" not in attempt.error


def test_a_newer_update_waits_while_the_older_one_of_its_variant_is_in_flight(
    shop, stocked_variant, endpoint, receiver
):
    variant = stocked_variant(store=5)
    run_outbox()
    old = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=old.pk).update(status=Status.SENDING)
    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    run_outbox()

    webhooks_flush(endpoint_id=endpoint.pk)

    assert receiver.calls == []  # never two of one variant on the wire at once
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).count() == 1
