"""docs/examples/webhook_receiver.py, run as a process and sent deliveries signed and
shaped exactly as the sender does (unicommerce.webhooks.signing and services.body_for)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from inventory.services.stock import stock_receive
from tests.conftest import run_outbox
from unicommerce.webhooks import signing
from unicommerce.webhooks.models import WebhookDelivery, WebhookEndpoint
from unicommerce.webhooks.services import (
    body_for,
    delivery_redeliver,
    endpoint_create,
    webhooks_flush,
)

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = ROOT / "docs" / "examples" / "webhook_receiver.py"
SECRET = "whsec_" + "r" * 43


@contextmanager
def running_receiver() -> Iterator[str]:
    """The example as a process on a free port; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--secret", SECRET, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        match = re.match(r"listening on (http://127\.0\.0\.1:\d+/)", first_line)
        if not match:
            pytest.fail(f"the receiver did not start: {first_line}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with running_receiver() as url:
        yield url


def delivery(variant_id: int, version: int, quantity: int, *, event_id=None) -> bytes:
    """The body the sender would POST for a stock.changed of this variant."""
    now = datetime.now(UTC)
    claimed = SimpleNamespace(
        event_id=event_id or uuid.uuid4(),
        event_type="stock.changed",
        updated_at=now,
        payload={
            "sku": f"SKU-{variant_id}",
            "variant_id": variant_id,
            "quantity": quantity,
            "version": version,
            "computed_at": now.isoformat().replace("+00:00", "Z"),
        },
    )
    return body_for(claimed, "web")


def post(url: str, body: bytes, *, secret: str = SECRET, timestamp: int | None = None):
    event = json.loads(body)
    request = urllib.request.Request(  # noqa: S310 - a local http:// address
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.signature_header(secret, body, timestamp=timestamp),
            signing.EVENT_ID_HEADER: event.get("id", ""),
            signing.EVENT_TYPE_HEADER: event.get("type", ""),
            signing.ATTEMPT_HEADER: "1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def held(url: str, variant_id: int) -> dict | None:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        return json.loads(response.read())["stock"].get(str(variant_id))


def test_a_good_delivery_is_applied(receiver):
    status, answer = post(receiver, delivery(101, version=3, quantity=9))

    assert (status, answer) == (200, {"status": "applied"})
    assert held(receiver, 101)["quantity"] == 9


def test_a_bad_signature_is_refused(receiver):
    status, answer = post(receiver, delivery(102, version=1, quantity=5), secret="whsec_wrong")

    assert status == 401
    assert answer == {"error": "signature does not match"}
    assert held(receiver, 102) is None


def test_a_body_changed_after_signing_is_refused(receiver):
    body = delivery(103, version=1, quantity=5)
    header = signing.signature_header(SECRET, body)
    tampered = body.replace(b'"quantity":5', b'"quantity":500')
    request = urllib.request.Request(  # noqa: S310
        receiver, data=tampered, method="POST", headers={signing.SIGNATURE_HEADER: header}
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310

    assert refused.value.code == 401
    assert held(receiver, 103) is None


def test_a_timestamp_outside_the_replay_window_is_refused(receiver):
    body = delivery(104, version=1, quantity=5)

    old = post(receiver, body, timestamp=int(time.time()) - 301)
    future = post(receiver, body, timestamp=int(time.time()) + 301)

    assert old == future == (401, {"error": "timestamp outside the replay window"})
    assert held(receiver, 104) is None


def test_the_same_event_id_twice_is_applied_once(receiver):
    event_id = uuid.uuid4()
    first = post(receiver, delivery(105, version=2, quantity=4, event_id=event_id))
    # The same event again, as a retry would send it: newly signed, same id.
    again = post(receiver, delivery(105, version=2, quantity=4, event_id=event_id))

    assert first == (200, {"status": "applied"})
    assert again == (200, {"status": "duplicate"})
    assert held(receiver, 105)["version"] == 2


def test_an_older_version_after_a_newer_one_is_ignored(receiver):
    newer = post(receiver, delivery(106, version=8, quantity=1))
    older = post(receiver, delivery(106, version=7, quantity=6))
    same = post(receiver, delivery(106, version=8, quantity=6))

    assert newer == (200, {"status": "applied"})
    assert older == same == (200, {"status": "stale"})
    assert (held(receiver, 106)["version"], held(receiver, 106)["quantity"]) == (8, 1)


def test_a_signed_body_that_is_not_an_event_is_a_bad_request(receiver):
    status, answer = post(receiver, b'{"hello": "world"}')

    assert (status, answer) == (400, {"error": "not a Unicommerce event"})


def test_the_signed_example_in_the_docs_verifies():
    docs = (ROOT / "docs" / "webhooks.md").read_text()
    header = re.search(r"^Unicommerce-Signature: (t=\S+)$", docs, re.MULTILINE).group(1)
    body = re.search(r'^(\{"channel".*\})$', docs, re.MULTILINE).group(1).encode()
    secret = re.search(r"the secret `(whsec_\w+)`", docs).group(1)
    timestamp = int(header.split(",")[0].removeprefix("t="))

    assert signing.verify(secret, header, body, now=timestamp) == timestamp
    assert f"`t={timestamp}`, `v1` is\n`{header.split('v1=')[1]}`" in docs


def test_the_real_sender_and_the_example_agree(shop, stocked_variant, settings):
    """A stock change sent by webhooks_flush is applied; redelivered, it is a duplicate."""
    settings.WEBHOOK_COALESCE_SECONDS = 0
    variant = stocked_variant(warehouse=4)
    run_outbox()
    with running_receiver() as url:
        endpoint = endpoint_create(channel=shop.web, url=url, event_types=["stock.changed"])
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=SECRET)
        stock_receive(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=3)
        run_outbox()
        webhooks_flush(endpoint_id=endpoint.pk)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        applied = held(url, variant.pk)
        delivery_redeliver(delivery=delivery)
        webhooks_flush(endpoint_id=endpoint.pk)

    assert (applied["quantity"], applied["version"]) == (7, delivery.version)
    answers = list(
        delivery.attempt_log.order_by("id").values_list("status_code", "response_excerpt")
    )
    assert answers == [(200, '{"status": "applied"}'), (200, '{"status": "duplicate"}')]
