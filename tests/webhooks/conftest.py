"""Endpoints and deliveries in a given state, for the faces' tests."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.api.conftest import staff_api, web_api  # noqa: F401 - the API's fixtures
from unicommerce.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from unicommerce.webhooks.services import endpoint_create


@pytest.fixture
def make_endpoint(shop):
    """An endpoint of ``channel`` (the web store by default), created by the service."""

    def make(*, channel=None, url="https://hooks.example.com/stock", **state) -> WebhookEndpoint:
        endpoint = endpoint_create(
            channel=channel or shop.web, url=url, event_types=["stock.changed"]
        )
        if state:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**state)
            endpoint.refresh_from_db()
        return endpoint

    return make


@pytest.fixture
def make_delivery():
    """A delivery of a ``stock.changed`` in ``status``, with one failed attempt logged."""

    def make(endpoint, *, status="dead", variant_id=1, version=1, **fields) -> WebhookDelivery:
        now = timezone.now()
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="stock.changed",
            key=f"variant:{variant_id}",
            version=version,
            payload={
                "sku": f"SKU-{variant_id}",
                "variant_id": variant_id,
                "quantity": 3,
                "version": version,
                "computed_at": now.isoformat(),
            },
            status=status,
            attempts=1,
            first_change_at=now,
            updated_at=now,
            next_attempt_at=now,
            last_status_code=503,
            last_error="The receiver answered HTTP 503.",
            **fields,
        )
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=1,
            event_id=delivery.event_id,
            version=version,
            started_at=now,
            duration_ms=12,
            status_code=503,
            error="The receiver answered HTTP 503.",
            response_excerpt="upstream unavailable",
        )
        return delivery

    return make
