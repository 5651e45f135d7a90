"""Queueing a message: validation, deduplication, and the task enqueued only on commit."""

import threading

import pytest
from django.db import connection, transaction

from tests.messaging.conftest import queued_tasks
from unicommerce.messaging.exceptions import MessageInvalid, MessageRecipientInvalid
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send


def _sms(**overrides) -> Message:
    fields = {
        "channel": "sms",
        "to": "+33612345678",
        "body": "Your order R-1 is ready for pickup at Paris.",
        "kind": "order.ready_for_pickup",
        "customer_id": 42,
        "reference": "R-1",
    }
    return message_send(**{**fields, **overrides})


def test_an_sms_is_queued_with_its_details(db):
    message = _sms(to=" +33612345678 ", dedup_key="order.ready_for_pickup:R-1")

    stored = Message.objects.get()
    assert stored == message
    assert (stored.channel, stored.to, stored.kind, stored.customer_id, stored.reference) == (
        "sms",
        "+33612345678",
        "order.ready_for_pickup",
        42,
        "R-1",
    )
    assert (stored.status, stored.attempts, stored.provider_id, stored.sent_at) == (
        "queued",
        0,
        "",
        None,
    )
    assert stored.dedup_key == "order.ready_for_pickup:R-1"
    assert stored.next_attempt_at is not None


@pytest.mark.parametrize(
    "to",
    ["0612345678", "33612345678", "+33 6 12 34 56 78", "+0612345678", "+331", "", "a@b.fr"],
)
def test_an_sms_goes_only_to_an_e164_number(db, to):
    with pytest.raises(MessageRecipientInvalid) as refused:
        _sms(to=to)

    assert refused.value.code == "message_recipient_invalid"
    assert refused.value.details == {"channel": "sms", "to": to.strip()}
    assert refused.value.http_status == 400
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "to", ["not-an-address", "anna@", "@shop.fr", "anna @shop.fr", "", "a" * 250 + "@shop.fr"]
)
def test_an_email_goes_only_to_a_valid_address(db, to):
    with pytest.raises(MessageRecipientInvalid) as refused:
        message_send(channel="email", to=to, subject="Ready", body="Hello", kind="order.ready")

    assert refused.value.code == "message_recipient_invalid"
    assert Message.objects.count() == 0


def test_a_valid_email_is_queued(db):
    message = message_send(
        channel="email", to="anna@shop.fr", subject="Ready", body="Hello", kind="order.ready"
    )

    assert (message.channel, message.to, message.subject, message.status) == (
        "email",
        "anna@shop.fr",
        "Ready",
        "queued",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "fax"}, None),
        ({"body": "  "}, "body"),
        ({"kind": ""}, "kind"),
        ({"kind": "x" * 101}, "kind"),
        ({"channel": "email", "to": "anna@shop.fr", "subject": ""}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"reference": "R" * 101}, "reference"),
        ({"dedup_key": "k" * 201}, "dedup_key"),
    ],
)
def test_a_malformed_message_is_refused(db, fields, field):
    with pytest.raises(MessageInvalid) as refused:
        _sms(**fields)

    assert refused.value.code == "message_invalid"
    assert refused.value.details.get("field") == field
    assert Message.objects.count() == 0


def test_the_same_dedup_key_returns_the_first_message_and_enqueues_once(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _sms(dedup_key="order.ready_for_pickup:R-1")
        again = _sms(dedup_key="order.ready_for_pickup:R-1", body="A second text")

    assert again.pk == first.pk
    assert again.body == "Your order R-1 is ready for pickup at Paris."
    assert Message.objects.count() == 1
    assert len(callbacks) == 1


def test_messages_without_a_dedup_key_are_all_sent(db):
    _sms()
    _sms()

    assert Message.objects.filter(dedup_key__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_task_is_enqueued_after_commit_only():
    with transaction.atomic():
        message = _sms()
        assert queued_tasks() == []

    [task] = queued_tasks()
    assert (task.name, task.args, task.eta) == ("messaging.send", [message.pk], None)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing():
    def order_that_fails():
        with transaction.atomic():
            _sms(dedup_key="order.ready_for_pickup:R-1")
            raise RuntimeError("the order could not be saved")

    with pytest.raises(RuntimeError):
        order_that_fails()

    assert Message.objects.count() == 0
    assert queued_tasks() == []


def _release_when_someone_waits_on_a_lock(release: threading.Event, seen: list) -> None:
    from tests.conftest import wait_until

    try:
        with connection.cursor() as cursor:

            def blocked() -> bool:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                return cursor.fetchone()[0] > 0

            wait_until(blocked, timeout=10, what="the second insert to wait on the first")
            seen.append("blocked")
    finally:
        release.set()
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_waits_for_the_first_and_returns_it():
    """Two transactions queue the same business event at once: the second waits on the
    first one's uncommitted row, then gets it instead of failing or sending twice."""
    first_inserted = threading.Event()
    release = threading.Event()
    results = {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = _sms(dedup_key="order.ready_for_pickup:R-9")
                first_inserted.set()
                release.wait(15)
        finally:
            connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_inserted.wait(10)
    seen: list = []
    watcher = threading.Thread(target=_release_when_someone_waits_on_a_lock, args=[release, seen])
    watcher.start()
    with transaction.atomic():
        second = _sms(dedup_key="order.ready_for_pickup:R-9", body="the copy")
    holder.join(10)
    watcher.join(10)

    assert seen == ["blocked"]
    assert second.pk == results["first"].pk
    assert second.body == "Your order R-1 is ready for pickup at Paris."
    assert Message.objects.count() == 1
    assert [task.args for task in queued_tasks()] == [[second.pk]]
