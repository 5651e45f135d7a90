"""The outbound call of a delivery against hostile or broken receivers (issue 11, item 9):
DNS rebinding, a refused connection, an endless answer, a receiver that drips, TLS by
host name. Real sockets on 127.0.0.1 throughout; the resolver is the test's, and the
one public address it gives is never really connected to (no test reaches the network).
"""

from __future__ import annotations

import errno
import socket
import time

import pytest
from django.core import checks

from tests.conftest import run_outbox
from tests.webhooks.receiver import Receiver
from tests.webhooks.servers import (
    TLS_HOST,
    Endless,
    Listener,
    RawServer,
    TlsReceiver,
    client_context,
    dripping,
)
from unicommerce.webhooks import services
from unicommerce.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from unicommerce.webhooks.services import endpoint_create, outbound, webhooks_flush

Status = WebhookDelivery.Status
PUBLIC = "93.184.215.14"  # a public address; connecting to it is refused (see `connections`)
NOT_ALLOWED = (
    "The URL's host is or resolves to an address that is not allowed "
    "(this network, a private or a reserved address)."
)


@pytest.fixture(autouse=True)
def _no_window(settings):
    settings.WEBHOOK_COALESCE_SECONDS = 0  # due at once: the tests call the sender


class Resolver:
    """``answers[host]``: the addresses of the 1st, 2nd… call (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.calls.append(host)
        answers = self.answers[host]
        answer = answers[min(self.calls.count(host), len(answers)) - 1]
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in answer
        ]


@pytest.fixture
def resolver(monkeypatch):
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


@pytest.fixture
def connections(monkeypatch):
    """Every address the sender connects a socket to; PUBLIC refuses (nobody there), any
    other is really connected to."""
    real = outbound._open_connection
    addresses: list[str] = []

    def open_connection(family, kind, proto, sockaddr, timeout):
        addresses.append(sockaddr[0])
        if sockaddr[0] == PUBLIC:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return real(family, kind, proto, sockaddr, timeout)

    monkeypatch.setattr(outbound, "_open_connection", open_connection)
    return addresses


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def deliver_one(shop, stocked_variant, url: str) -> WebhookDelivery:
    endpoint = endpoint_create(channel=shop.web, url=url, event_types=["stock.changed"])
    stocked_variant(store=1)
    run_outbox()
    webhooks_flush(endpoint_id=endpoint.pk)
    return WebhookDelivery.objects.get(endpoint=endpoint)


def assert_failed_once(delivery: WebhookDelivery, error: str) -> WebhookAttempt:
    """Failed, recorded with ``error``, waiting for its retry."""
    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.error) == (None, error)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.PENDING, 1, error)
    assert delivery.next_attempt_at > attempt.started_at  # backing off
    assert WebhookEndpoint.objects.get(pk=delivery.endpoint_id).consecutive_failures == 1
    return attempt


# --- No second resolution ------------------------------------------------------------


def test_a_name_that_rebinds_to_this_machine_after_the_check_never_reaches_it(
    shop, stocked_variant, settings, resolver, connections, listener
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    # The rebinding resolver: a public address first, this machine from then on.
    resolver.answers["hooks.example.com"] = [[PUBLIC], ["127.0.0.1"]]

    delivery = deliver_one(shop, stocked_variant, f"http://hooks.example.com:{listener.port}/stock")

    assert resolver.calls == ["hooks.example.com"]  # resolved once…
    assert connections == [PUBLIC]  # …and connected to what was checked, only
    assert not listener.reached()
    attempt = assert_failed_once(delivery, "Connection refused.")
    for text in (attempt.error, delivery.last_error):
        assert "127.0.0.1" not in text
        assert PUBLIC not in text


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], [PUBLIC, "10.1.2.3"], ["::ffff:127.0.0.1"], ["239.1.2.3"], ["::1"]],
    ids=["loopback", "one-private-among-public", "mapped-loopback", "multicast", "loopback6"],
)
def test_a_name_resolving_to_this_network_when_sent_is_refused_in_plain_words(
    shop, stocked_variant, settings, resolver, connections, listener, answer
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    resolver.answers["hooks.example.com"] = [answer]

    delivery = deliver_one(shop, stocked_variant, f"http://hooks.example.com:{listener.port}/stock")

    assert connections == []  # no socket at all
    assert not listener.reached()
    attempt = assert_failed_once(delivery, NOT_ALLOWED)
    for address in answer:
        assert address not in attempt.error


def test_an_unknown_host_name_is_a_plain_failure(
    shop, stocked_variant, settings, resolver, connections
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    resolver.answers["gone.example.com"] = [[]]

    delivery = deliver_one(shop, stocked_variant, "https://gone.example.com/stock")

    assert connections == []
    assert_failed_once(delivery, "The URL's host name could not be resolved.")


def test_a_refused_connection_is_stored_without_our_address(shop, stocked_variant, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    delivery = deliver_one(shop, stocked_variant, f"http://127.0.0.1:{port}/stock")

    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert attempt.error == delivery.last_error == "Connection refused."
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.disabled_reason == (
        "Disabled after 1 failed deliveries in a row; last error: Connection refused."
    )


# --- HTTPS: the checked address, the host name for SNI and the certificate -----------


@pytest.fixture
def tls_receiver(monkeypatch):
    receiver = TlsReceiver()
    # A sender trusting the test CA (production trusts the usual ones).
    monkeypatch.setattr(
        outbound,
        "_clients",
        {True: outbound.client_build(allow_private=True, verify=client_context())},
    )
    yield receiver
    receiver.stop()


def test_https_goes_to_the_checked_address_with_the_host_name_for_sni_and_the_certificate(
    shop, stocked_variant, resolver, connections, tls_receiver
):
    resolver.answers[TLS_HOST] = [["127.0.0.1"], [PUBLIC]]

    delivery = deliver_one(shop, stocked_variant, f"https://{TLS_HOST}:{tls_receiver.port}/h")

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == (Status.DELIVERED, 200)
    assert resolver.calls == [TLS_HOST]
    assert connections == ["127.0.0.1"]
    assert tls_receiver.server_names == [TLS_HOST]
    assert tls_receiver.hosts == [f"{TLS_HOST}:{tls_receiver.port}"]


def test_https_to_a_name_the_certificate_does_not_cover_fails(
    shop, stocked_variant, resolver, connections, tls_receiver
):
    resolver.answers["other.example.test"] = [["127.0.0.1"]]

    delivery = deliver_one(
        shop, stocked_variant, f"https://other.example.test:{tls_receiver.port}/h"
    )

    assert tls_receiver.hosts == []  # nothing was sent over it
    attempt = assert_failed_once(
        delivery, "The receiver's TLS certificate is not valid for this host name."
    )
    assert "127.0.0.1" not in attempt.error


# --- A bounded answer ----------------------------------------------------------------


@pytest.mark.parametrize(("status", "outcome"), [(200, Status.DELIVERED), (503, Status.PENDING)])
def test_an_endless_answer_is_read_up_to_the_cap_and_the_status_decides(
    shop, stocked_variant, settings, status, outcome
):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 65536
    answer = Endless(status=status, total=64 << 20)
    server = RawServer(answer)
    try:
        delivery = deliver_one(shop, stocked_variant, server.url)
        assert server.done.wait(20)
    finally:
        server.stop()

    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert (delivery.status, attempt.status_code) == (outcome, status)
    assert attempt.response_excerpt == ("queued\ufffd" + "x" * 500)[:500]
    assert answer.sent < answer.total  # the sender hung up long before the end
    if status != 200:
        assert attempt.error == delivery.last_error == "The receiver answered HTTP 503."


# --- The deadline of a delivery ------------------------------------------------------


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_receiver_dripping_its_answer_is_cut_at_the_deadline_and_retried(
    shop, stocked_variant, settings, part
):
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 2  # a byte a second: no single wait times out
    server = RawServer(dripping(part, every=1.0, count=30))  # 30 s to the end
    try:
        started = time.monotonic()
        delivery = deliver_one(shop, stocked_variant, server.url)
        took = time.monotonic() - started
    finally:
        server.stop()

    assert server.requests == 1
    assert took < 5  # the deadline fired: the drip alone lasts 30 s
    assert_failed_once(delivery, "Timed out after 1 s (the time limit of a delivery).")


# --- A flush's share of the worker ---------------------------------------------------


def test_a_round_claims_what_the_senders_finish_inside_the_claim_timeout(settings):
    settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS = 60
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 15
    assert services.claim_size() == 3 * services.SEND_PARALLEL  # 3 × 15 s ≤ 80 % of 60 s
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 50
    assert services.claim_size() == services.SEND_PARALLEL  # never fewer than one round


def test_a_flush_past_its_budget_stops_claiming_and_asks_for_another(
    shop, stocked_variant, monkeypatch
):
    receiver = Receiver().start()
    try:
        endpoint = endpoint_create(
            channel=shop.web, url=receiver.url, event_types=["stock.changed"]
        )
        for _ in range(services.claim_size() + 2):
            stocked_variant(store=1)
        run_outbox()
        monkeypatch.setattr(services, "FLUSH_BUDGET_SECONDS", 0)

        first = webhooks_flush(endpoint_id=endpoint.pk)
        assert first.delivered == services.claim_size()
        assert first.next_at is not None
        assert first.next_at <= time.time()
        second = webhooks_flush(endpoint_id=endpoint.pk)
    finally:
        receiver.stop()

    assert second.delivered == 2
    assert second.next_at is None
    assert len(receiver.calls) == services.claim_size() + 2


def test_a_deadline_that_outlasts_the_claim_timeout_is_reported(settings):
    settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS = 10
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 15

    [warning] = [m for m in checks.run_checks() if m.id == "webhooks.W001"]
    assert "WEBHOOK_DELIVERY_DEADLINE_SECONDS" in warning.msg

    settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS = 60
    assert not [m for m in checks.run_checks() if m.id == "webhooks.W001"]


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        (PUBLIC, True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # link-local: cloud metadata
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not one to bind
        ("224.0.0.1", False),
        ("239.1.2.3", False),  # multicast, though "global" to the ipaddress module
        ("240.0.0.1", False),  # reserved
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo of 10.0.0.1
        ("not an address", False),
    ],
)
def test_which_addresses_may_be_called(address, allowed):
    assert outbound.address_allowed(address) is allowed
