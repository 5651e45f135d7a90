"""A worker killed (SIGKILL) while it sends an SMS through Twilio: the message is sent
once, whether the request had reached Twilio or not.

Real Celery worker processes on the test database and this run's Redis database, with
the Twilio backend pointed at a local fake of Twilio's API (in this process). The fake
holds the worker's request, the test kills the worker, the sweep hands the claim back,
a second worker takes the message over: it asks Twilio before sending again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from tests.conftest import ARTIFACTS, ROOT, _database_url, wait_until
from tests.messaging.fake_twilio import FakeTwilio
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send, messages_sweep

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

BODY = "Pay your order R-7 here: https://shop.example/pay/k7Qd2"
# The worker's settings: the test settings, with the Twilio backend on the fake.
WORKER_SETTINGS = """
import os

from unicommerce.settings.test import *  # noqa: F403

SMS_BACKEND = "unicommerce.messaging.providers.twilio.TwilioBackend"
SMS_TWILIO_API_BASE = os.environ["FAKE_TWILIO_URL"]
SMS_TWILIO_ACCOUNT_SID = os.environ["FAKE_TWILIO_ACCOUNT_SID"]
SMS_TWILIO_AUTH_TOKEN = os.environ["FAKE_TWILIO_AUTH_TOKEN"]
SMS_TWILIO_FROM = "+15005550006"
SMS_TWILIO_TIMEOUT_SECONDS = 120.0  # the fake's hold, not a timeout, stops the send
"""


class SmsWorker:
    """`celery worker -Q messaging` in its own process group, so it can be killed -9."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"celery-sms-{name}.log"
        self.log.write_bytes(b"")
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    *[sys.executable, "-m", "celery", "-A", "unicommerce", "worker"],
                    *["--pool=threads", "--concurrency=1", "--queues=messaging"],
                    *["--loglevel=INFO", "--without-gossip", "--without-mingle"],
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: "ready." in self.output() or self.process.poll() is not None,
            timeout=60,
            what="the worker to start",
        )
        assert self.process.poll() is None, self.output()[-3000:]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no acknowledgement, no clean-up, the socket closed by the kernel."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def _flush_broker() -> None:
    # Tasks of earlier tests, and the unacknowledged task of a killed worker.
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()


@pytest.fixture
def start_worker(transactional_db, twilio, tmp_path):
    """Start SMS workers; stopped before the test database is flushed."""
    (tmp_path / "sms_worker_settings.py").write_text(WORKER_SETTINGS)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sms_worker_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],  # the worker derives this run's database
        "PYTEST_XDIST_WORKER": os.environ.get("PYTEST_XDIST_WORKER", "gw0"),
        "FAKE_TWILIO_URL": twilio.url,
        "FAKE_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "FAKE_TWILIO_AUTH_TOKEN": twilio.auth_token,
    }
    _flush_broker()
    workers: list[SmsWorker] = []

    def start(name: str) -> SmsWorker:
        workers.append(SmsWorker(env, name))
        return workers[-1]

    yield start
    twilio.release()
    for worker in workers:
        worker.stop()
    _flush_broker()


def _queue_sms() -> Message:
    with transaction.atomic():
        return message_send(
            channel="sms",
            to="+33612345678",
            body=BODY,
            kind="payment_link",
            reference="R-7",
            dedup_key="payment_link.sent:R-7",
        )


def _hand_back_the_dead_workers_claim(message: Message, settings) -> None:
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)  # killed mid-send
    settings.MESSAGING_CLAIM_TIMEOUT_SECONDS = 0  # rather than waiting for it
    assert messages_sweep().handed_back == 1


def _sent(message: Message) -> Message:
    return wait_until(
        lambda: Message.objects.filter(pk=message.pk, status="sent").first(),
        timeout=60,
        what="the second worker to send the message",
    )


def test_a_worker_killed_after_twilio_got_the_sms_does_not_send_it_again(
    start_worker, twilio, settings
):
    twilio.hold(120)  # Twilio records the message, its answer never comes back
    first = start_worker("first")
    message = _queue_sms()
    wait_until(lambda: twilio.messages, timeout=30, what="Twilio to receive the SMS")

    first.kill()
    _hand_back_the_dead_workers_claim(message, settings)
    start_worker("second")
    sent = _sent(message)

    [recorded] = twilio.messages
    assert len(twilio.posts()) == 1  # the second worker found it and did not post again
    assert len(twilio.gets()) == 1
    assert (sent.provider_id, sent.attempts, sent.last_error) == (recorded["sid"], 2, "")
    assert (recorded["to"], recorded["body"]) == ("+33612345678", BODY)


def test_a_worker_killed_before_its_sms_reached_twilio_sends_it_once(
    start_worker, twilio, settings
):
    twilio.hold(120, before_recording=True)  # the request waits at Twilio's door
    first = start_worker("first")
    message = _queue_sms()
    wait_until(lambda: twilio.posts(), timeout=30, what="the worker to post the SMS")

    first.kill()
    wait_until(lambda: twilio.dropped == 1, what="Twilio to drop the dead worker's request")
    assert twilio.messages == []
    _hand_back_the_dead_workers_claim(message, settings)
    start_worker("second")
    sent = _sent(message)

    [recorded] = twilio.messages
    assert len(twilio.posts()) == 2  # the dropped one, then the second worker's
    assert len(twilio.gets()) == 1  # it looked first, found nothing
    assert (sent.provider_id, sent.attempts) == (recorded["sid"], 2)
    assert (recorded["to"], recorded["body"]) == ("+33612345678", BODY)
