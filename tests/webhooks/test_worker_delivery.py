"""Stock webhooks delivered by a real Celery worker process over the real Redis broker:
commit → outbox relay → stock sync (queue "sync") → coalesced delivery (queue "webhooks")
→ a real HTTP receiver on 127.0.0.1."""

import pytest

from inventory.models import ChannelStock
from inventory.services.stock import stock_sell
from tests.conftest import drain_worker, wait_until
from tests.webhooks.receiver import Receiver
from unicommerce.webhooks import signing
from unicommerce.webhooks.models import WebhookDelivery
from unicommerce.webhooks.services import endpoint_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def receiver(celery_worker_process):
    receiver = Receiver().start()
    yield receiver
    drain_worker()
    wait_until(
        lambda: not WebhookDelivery.objects.filter(status__in=["pending", "sending"]).exists(),
        what="the worker to finish its deliveries",
    )
    receiver.stop()


def test_a_sale_committed_in_a_store_reaches_the_web_channel_signed(
    shop, stocked_variant, receiver
):
    endpoint = endpoint_create(channel=shop.web, url=receiver.url, event_types=["stock.changed"])
    variant = stocked_variant(store=3, warehouse=4)
    wait_until(lambda: receiver.latest_quantities().get(variant.sku), what="the first figure")

    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 2)])

    wait_until(lambda: receiver.latest_quantities()[variant.sku][1] == 5, what="the sale's figure")
    last = receiver.calls[-1]
    assert signing.verify(endpoint.secret, last.headers[signing.SIGNATURE_HEADER], last.body)
    figure = ChannelStock.objects.get(channel=shop.web, variant=variant)
    assert receiver.latest_quantities()[variant.sku] == (figure.version, 5)


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(
    shop, stocked_variant, receiver
):
    receiver.fail_first = 2
    endpoint_create(channel=shop.web, url=receiver.url, event_types=["stock.changed"])

    variant = stocked_variant(store=2)

    wait_until(lambda: len(receiver.calls) >= 3, what="two retries after two failures")
    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(status="delivered").first(),
        what="the delivery to be recorded as delivered",
    )
    assert [c.event_id for c in receiver.calls] == [str(delivery.event_id)] * 3
    assert receiver.latest_quantities()[variant.sku][1] == 2
    assert list(delivery.attempt_log.order_by("number").values_list("status_code", flat=True)) == [
        500,
        500,
        200,
    ]
