"""At most WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL endpoints per channel, also when two
creates race for the last place."""

import threading

import pytest
from django.db import connection

from unicommerce.webhooks.models import WebhookEndpoint
from unicommerce.webhooks.services import TooManyEndpoints, endpoint_create, endpoint_delete


def create(channel, n: int) -> WebhookEndpoint:
    return endpoint_create(
        channel=channel, url=f"https://h{n}.example.com/", event_types=["stock.changed"]
    )


def test_the_cap_counts_per_channel_and_frees_a_place_on_delete(shop, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL = 2
    first, _second = create(shop.web, 1), create(shop.web, 2)

    with pytest.raises(TooManyEndpoints, match="at most 2 webhook endpoints") as refused:
        create(shop.web, 3)
    assert refused.value.details == {"limit": 2}
    assert WebhookEndpoint.objects.filter(channel=shop.web).count() == 2
    create(shop.store_channel, 4)  # another channel has its own places

    endpoint_delete(endpoint=first)
    create(shop.web, 5)
    assert WebhookEndpoint.objects.filter(channel=shop.web).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_creates_racing_for_the_last_place_get_one_endpoint(shop, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL = 2
    create(shop.web, 1)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            start.wait(5)
            create(shop.web, n)
            outcomes.append("created")
        except TooManyEndpoints:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["created", "refused"]
    assert WebhookEndpoint.objects.filter(channel=shop.web).count() == 2
