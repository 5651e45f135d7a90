"""Sending from the worker: the ``messaging.send`` task run in this process against the
locmem backend (the SMS provider's test double), and the sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.messaging.conftest import queued_tasks
from unicommerce.messaging import backends
from unicommerce.messaging.backends import PermanentFailure, TemporaryFailure
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send
from unicommerce.messaging.tasks import message_send_task, messages_sweep_task


def _queued(**overrides) -> Message:
    fields = {
        "channel": "sms",
        "to": "+33612345678",
        "body": "Your order R-1 is ready for pickup.",
        "kind": "order.ready_for_pickup",
        "reference": "R-1",
    }
    return message_send(**{**fields, **overrides})


def test_the_task_sends_a_queued_message_once(db):
    message = _queued()

    outcome = message_send_task(message.pk)
    again = message_send_task(message.pk)

    message.refresh_from_db()
    assert (outcome, again) == ("sent", "skipped")
    assert (message.status, message.attempts, message.provider_id) == ("sent", 1, "locmem-1")
    assert message.sent_at is not None
    assert message.claimed_at is None
    [sent] = backends.outbox
    assert (sent.to, sent.body, sent.kind, sent.reference) == (
        "+33612345678",
        "Your order R-1 is ready for pickup.",
        "order.ready_for_pickup",
        "R-1",
    )
    assert sent.idempotency_key == f"unicommerce-message-{message.pk}"


def test_an_email_goes_through_the_email_backend(db, settings):
    settings.SMS_BACKEND = "unicommerce.messaging.backends.ConsoleBackend"
    message = _queued(channel="email", to="anna@shop.fr", subject="Your order is ready")

    assert message_send_task(message.pk) == "sent"

    [sent] = backends.outbox
    assert (sent.channel, sent.to, sent.subject) == ("email", "anna@shop.fr", "Your order is ready")


def test_a_temporary_failure_is_retried_after_a_back_off(db):
    message = _queued()
    backends.planned_failures.append(TemporaryFailure("provider answered 503"))
    before = timezone.now()

    outcome = message_send_task(message.pk)

    message.refresh_from_db()
    assert outcome == "retry"
    assert (message.status, message.attempts, message.claimed_at) == ("queued", 1, None)
    assert message.last_error == "TemporaryFailure: provider answered 503"
    # MESSAGING_RETRY_BASE is 0.2 s in the test settings; the first retry waits 0.1-0.2 s.
    assert before + timedelta(seconds=0.1) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=0.2)
    [retry] = queued_tasks()
    assert (retry.name, retry.args) == ("messaging.send", [message.pk])
    assert retry.eta is not None
    assert backends.outbox == []

    # Not yet due: a task arriving early does nothing.
    assert message_send_task(message.pk) == "skipped"
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert message_send_task(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(backends.outbox) == 1


def test_an_unexpected_backend_error_is_retried_like_a_temporary_one(db):
    message = _queued()
    backends.planned_failures.append(ConnectionResetError("reset by peer"))

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        "queued",
        "ConnectionResetError: reset by peer",
    )


def test_a_message_fails_after_its_last_attempt(db, settings):
    settings.MESSAGING_MAX_ATTEMPTS = 2
    message = _queued()
    backends.planned_failures.extend([TemporaryFailure("timeout"), TemporaryFailure("timeout 2")])

    first = message_send_task(message.pk)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    second = message_send_task(message.pk)

    message.refresh_from_db()
    assert (first, second) == ("retry", "failed")
    assert (message.status, message.attempts, message.last_error) == (
        "failed",
        2,
        "TemporaryFailure: timeout 2",
    )
    assert len(queued_tasks()) == 1  # the retry after the first failure, none after
    assert message_send_task(message.pk) == "skipped"
    assert backends.outbox == []


def test_a_permanent_failure_is_not_retried(db):
    message = _queued()
    backends.planned_failures.append(PermanentFailure("number not reachable"))

    assert message_send_task(message.pk) == "failed"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (
        "failed",
        1,
        "PermanentFailure: number not reachable",
    )
    assert queued_tasks() == []
    assert message_send_task(message.pk) == "skipped"
    assert backends.outbox == []


def test_a_message_that_does_not_exist_is_skipped(db):
    assert message_send_task(987654) == "skipped"


# --- the sweep ------------------------------------------------------------------------


def test_the_sweep_enqueues_a_message_whose_task_was_lost(db):
    lost = _queued()
    fresh = _queued()
    # Queued a while ago, its task never reached the broker (the test runs in one
    # transaction, so on-commit enqueues never happened either).
    Message.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=5))

    result = messages_sweep_task()

    assert result == {"handed_back": 0, "failed": 0, "enqueued": 1}
    assert [(task.name, task.args) for task in queued_tasks()] == [("messaging.send", [lost.pk])]
    assert message_send_task(lost.pk) == "sent"
    assert Message.objects.get(pk=fresh.pk).status == "queued"


def test_the_sweep_hands_back_an_abandoned_claim_and_it_is_sent_once(db):
    """The worker died after the provider accepted the message, before recording it:
    the claim is handed back, the message sent again with the same idempotency key, and
    the provider (locmem honours keys) sends nothing twice."""
    message = _queued()
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, claimed_at=timezone.now() - timedelta(seconds=10)
    )
    message.refresh_from_db()
    accepted = backends.LocmemBackend().send(message)  # what the dead worker did

    result = messages_sweep_task()
    message.refresh_from_db()
    assert result == {"handed_back": 1, "failed": 0, "enqueued": 1}
    assert (message.status, message.claimed_at) == ("queued", None)
    assert message.last_error == "the worker stopped while sending"
    assert [task.args for task in queued_tasks()] == [[message.pk]]

    assert message_send_task(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 2, accepted)
    assert len(backends.outbox) == 1


def test_the_sweep_leaves_a_recent_claim_alone(db):
    message = _queued()
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, claimed_at=timezone.now()
    )

    assert messages_sweep_task() == {"handed_back": 0, "failed": 0, "enqueued": 0}

    assert Message.objects.get(pk=message.pk).status == "sending"
    assert queued_tasks() == []


def test_an_abandoned_claim_out_of_attempts_ends_failed(db, settings):
    settings.MESSAGING_MAX_ATTEMPTS = 3
    message = _queued()
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=3, claimed_at=timezone.now() - timedelta(seconds=10)
    )

    assert messages_sweep_task() == {"handed_back": 0, "failed": 1, "enqueued": 0}

    message.refresh_from_db()
    assert (message.status, message.claimed_at) == ("failed", None)
    assert queued_tasks() == []


def test_the_late_outcome_of_a_handed_back_claim_is_not_recorded(db):
    """A worker too slow to finish before the claim timeout must not overwrite what the
    worker that took the message over recorded."""
    from unicommerce.messaging.services import _claim, _finish

    message = _queued()
    slow = _claim(message.pk)
    Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(seconds=10))
    assert messages_sweep_task()["handed_back"] == 1
    taken_over = _claim(message.pk)  # another worker is sending it now

    assert _finish(slow, status="failed", last_error="too late") is False
    message.refresh_from_db()
    assert (message.status, message.claimed_at) == ("sending", taken_over.claimed_at)

    assert _finish(taken_over, status="sent", claimed_at=None) is True
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_a_message_held_by_another_worker_is_skipped():
    """Two tasks for one message (the sweep re-sent one): the second skips the row the
    first has locked instead of waiting for it and sending again."""
    import threading

    from django.db import connection, transaction

    message = _queued()
    locked = threading.Event()
    release = threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Message.objects.select_for_update().get(pk=message.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        outcome = message_send_task(message.pk)
    finally:
        release.set()
        holder.join(10)

    assert outcome == "skipped"
    assert Message.objects.get(pk=message.pk).status == "queued"
    assert backends.outbox == []
