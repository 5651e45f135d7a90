"""The Twilio SMS backend against a local fake of Twilio's HTTP API, driven through the
real ``messaging.send`` task in this process: what is posted, how each answer is
classified, and how a message whose earlier attempt may have reached Twilio is looked
for there instead of being sent twice."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from tests.messaging.conftest import queued_tasks
from tests.messaging.fake_twilio import FakeTwilio
from unicommerce.messaging.models import Message
from unicommerce.messaging.providers.twilio import TwilioBackend
from unicommerce.messaging.services import _claim, message_send
from unicommerce.messaging.tasks import message_send_task, messages_sweep_task

SENDER = "+15005550006"
TO = "+33612345678"
BODY = "Pay your order R-1 here: https://shop.example/pay/abc123"


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio().start()
    settings.SMS_BACKEND = "unicommerce.messaging.providers.twilio.TwilioBackend"
    settings.SMS_TWILIO_ACCOUNT_SID = fake.account_sid
    settings.SMS_TWILIO_AUTH_TOKEN = fake.auth_token
    settings.SMS_TWILIO_FROM = SENDER
    settings.SMS_TWILIO_API_BASE = fake.url
    settings.SMS_TWILIO_TIMEOUT_SECONDS = 5.0
    yield fake
    fake.stop()


def _queued(**overrides) -> Message:
    fields = {"channel": "sms", "to": TO, "body": BODY, "kind": "payment_link", "reference": "R-1"}
    return message_send(**{**fields, **overrides})


def _due(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _hand_back(message: Message) -> None:
    """What the sweep does to the claim of a worker that died mid-send."""
    Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(seconds=10))
    assert messages_sweep_task()["handed_back"] == 1


# --- sending ---------------------------------------------------------------------------


def test_a_message_is_posted_as_twilio_documents_it_and_its_sid_recorded(db, twilio):
    message = _queued()

    assert message_send_task(message.pk) == "sent"

    [post] = twilio.posts()
    assert post.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert post.form == {"To": TO, "From": SENDER, "Body": BODY}
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    credentials = base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    assert post.headers["Authorization"] == f"Basic {credentials}"
    [sent] = twilio.messages
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 1, sent["sid"])
    assert (sent["to"], sent["from"], sent["body"]) == (TO, SENDER, BODY)
    assert twilio.gets() == []


def test_a_messaging_service_and_a_status_callback_are_sent_when_configured(db, twilio, settings):
    settings.SMS_TWILIO_MESSAGING_SERVICE_SID = "MG" + "a" * 32
    settings.SMS_TWILIO_STATUS_CALLBACK = "https://shop.example/sms/status"
    message = _queued()

    assert message_send_task(message.pk) == "sent"

    [post] = twilio.posts()
    assert post.form == {
        "To": TO,
        "Body": BODY,
        "MessagingServiceSid": "MG" + "a" * 32,
        "StatusCallback": "https://shop.example/sms/status",
    }


def test_wrong_credentials_fail_the_message_and_send_nothing(db, twilio, settings):
    settings.SMS_TWILIO_AUTH_TOKEN = "not-the-token"
    message = _queued()

    assert message_send_task(message.pk) == "failed"

    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("failed", "")
    assert message.last_error == "PermanentFailure: Twilio error 20003 (HTTP 401): Authenticate"
    assert twilio.messages == []
    assert queued_tasks() == []


def test_an_invalid_number_21211_fails_for_good(db, twilio, settings):
    settings.SMS_ALLOWED_REGIONS = ["FR", "US"]  # Twilio's test numbers are American
    message = _queued(to="+15005550001")  # E.164, but Twilio's "invalid number"

    assert message_send_task(message.pk) == "failed"

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error == (
        "PermanentFailure: Twilio error 21211 (HTTP 400): "
        "The 'To' number +15005550001 is not valid."
    )
    assert twilio.messages == []
    assert queued_tasks() == []
    assert message_send_task(message.pk) == "skipped"
    assert len(twilio.posts()) == 1


def test_a_400_answer_is_permanent(db, twilio):
    message = _queued()
    twilio.fail_next(400)

    assert message_send_task(message.pk) == "failed"

    assert Message.objects.get(pk=message.pk).last_error.startswith(
        "PermanentFailure: Twilio error 21211 (HTTP 400)"
    )
    assert twilio.messages == []


def test_a_rate_limit_is_retried_and_not_looked_up(db, twilio):
    message = _queued()
    twilio.fail_next(429)

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.status == "queued"
    assert (
        message.last_error == "TemporaryFailure: Twilio error 20429 (HTTP 429): Too Many Requests"
    )
    assert [task.args for task in queued_tasks()] == [[message.pk]]
    assert twilio.messages == []

    _due(message)
    assert message_send_task(message.pk) == "sent"
    assert twilio.gets() == []  # a 429 created nothing: nothing to look for
    assert len(twilio.messages) == 1
    assert Message.objects.get(pk=message.pk).provider_id == twilio.messages[0]["sid"]


def test_twilio_unreachable_is_a_plain_temporary_failure(db, twilio, settings):
    settings.SMS_TWILIO_API_BASE = _closed_port_url()
    message = _queued()

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.last_error == "TemporaryFailure: Twilio unreachable: ConnectError"


def test_a_500_leaves_the_outcome_unknown_and_the_next_attempt_looks_first(db, twilio):
    message = _queued()
    twilio.fail_next(500)

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.last_error == (
        "OutcomeUnknown: Twilio error 20500 (HTTP 500): Internal Server Error"
    )
    _due(message)
    assert message_send_task(message.pk) == "sent"

    [look_up] = twilio.gets()
    assert look_up.query == {
        "To": TO,
        "DateSent>": message.created_at.astimezone(UTC).date().isoformat(),
        "PageSize": "100",
    }
    assert len(twilio.posts()) == 2  # not there: sent
    [sent] = twilio.messages
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 2, sent["sid"])


def test_a_lost_answer_is_found_at_twilio_and_not_sent_twice(db, twilio):
    message = _queued()
    twilio.lose_next_answers = 1  # Twilio creates the message, the answer is a 500

    assert message_send_task(message.pk) == "retry"
    _due(message)
    assert message_send_task(message.pk) == "sent"

    [sent] = twilio.messages
    assert len(twilio.posts()) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 2, sent["sid"])
    assert message.last_error == ""


def test_a_timed_out_answer_is_found_at_twilio_and_not_sent_twice(db, twilio, settings):
    settings.SMS_TWILIO_TIMEOUT_SECONDS = 0.5
    message = _queued()
    twilio.hold(60)  # Twilio records the message and does not answer in time

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.last_error.startswith("OutcomeUnknown: no answer from Twilio: ReadTimeout")
    twilio.release()
    _due(message)
    assert message_send_task(message.pk) == "sent"
    [sent] = twilio.messages
    assert len(twilio.posts()) == 1
    assert Message.objects.get(pk=message.pk).provider_id == sent["sid"]


# --- a claim handed back by the sweep (its worker died mid-send) ------------------------


def test_a_handed_back_claim_twilio_already_has_is_recorded_not_sent_again(db, twilio):
    message = _queued()
    claim = _claim(message.pk)
    sent_by_the_dead_worker = TwilioBackend().send(claim.message)
    _hand_back(message)

    assert message_send_task(message.pk) == "sent"

    assert len(twilio.posts()) == 1
    assert len(twilio.gets()) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert message.provider_id == sent_by_the_dead_worker


def test_a_handed_back_claim_twilio_never_got_is_sent_once(db, twilio):
    message = _queued()
    _claim(message.pk)  # the worker died before its request reached Twilio
    _hand_back(message)

    assert message_send_task(message.pk) == "sent"

    assert len(twilio.gets()) == 1
    [sent] = twilio.messages
    assert Message.objects.get(pk=message.pk).provider_id == sent["sid"]


def test_a_failed_look_up_keeps_the_outcome_unknown(db, twilio, settings):
    message = _queued()
    claim = _claim(message.pk)
    sent_by_the_dead_worker = TwilioBackend().send(claim.message)
    _hand_back(message)
    settings.SMS_TWILIO_API_BASE = _closed_port_url()

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.last_error == (
        "OutcomeUnknown: could not look for an earlier copy: "
        "TemporaryFailure: Twilio unreachable: ConnectError"
    )
    settings.SMS_TWILIO_API_BASE = twilio.url
    _due(message)
    assert message_send_task(message.pk) == "sent"
    assert len(twilio.messages) == 1
    assert Message.objects.get(pk=message.pk).provider_id == sent_by_the_dead_worker


# --- find_sent --------------------------------------------------------------------------


def test_find_sent_matches_only_the_same_body_and_recipient_after_the_message(db, twilio):
    message = _queued()
    now = timezone.now()
    twilio.add_message(to=TO, body=BODY, created=message.created_at - timedelta(minutes=5))
    twilio.add_message(to="+33698765432", body=BODY, created=now)
    twilio.add_message(to=TO, body=BODY + " ", created=now)
    twilio.add_message(to=TO, body=BODY.upper(), created=now)
    backend = TwilioBackend()

    assert backend.find_sent(message) is None

    copy = twilio.add_message(to=TO, body=BODY, created=now)
    assert backend.find_sent(message) == copy["sid"]


def test_find_sent_reads_every_page_and_skips_a_copy_another_message_recorded(db, twilio):
    twilio.max_page_size = 2
    first = _queued()
    second = _queued()  # the same text to the same number, queued as well
    now = timezone.now()
    first_copy = twilio.add_message(to=TO, body=BODY, created=now)
    for number in range(4):
        twilio.add_message(to=TO, body=f"Your order R-{number} is ready.", created=now)
    Message.objects.filter(pk=first.pk).update(status="sent", provider_id=first_copy["sid"])
    backend = TwilioBackend()

    assert backend.find_sent(first) == first_copy["sid"]
    assert len(twilio.gets()) == 3  # five messages, two a page
    assert backend.find_sent(second) is None  # the only copy is the first message's

    second_copy = twilio.add_message(to=TO, body=BODY, created=now)
    assert backend.find_sent(second) == second_copy["sid"]
