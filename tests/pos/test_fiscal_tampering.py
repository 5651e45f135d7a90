"""A change of the fiscal journal through the ORM is refused before the database's
trigger, leaves the record as it was, and is logged as a ``tampering_attempt`` event
that survives the rollback of the caller's transaction. Transactional tests: the event
is committed on a connection of its own."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime

import pytest
from django.db import transaction

from pos.exceptions import JournalRecordImmutable
from pos.fiscal import journal_append
from pos.fiscal.journal import journal_verify
from pos.fiscal.tampering import tampering_attempts_wait
from pos.models import JournalRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.register_closed]
WHEN = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def ticket(shop):
    with transaction.atomic():
        return journal_append(
            chain=shop.register,
            kind="ticket",
            payload={"total": "10.00"},
            reference="UC1",
            occurred_at=WHEN,
        )


def attempts() -> list[JournalRecord]:
    tampering_attempts_wait()
    return list(JournalRecord.objects.filter(event_code="tampering_attempt").order_by("number"))


def unchanged(ticket: JournalRecord) -> bool:
    stored = JournalRecord.objects.get(pk=ticket.pk)
    return (stored.payload, stored.hash) == (ticket.payload, ticket.hash)


def test_an_update_inside_a_transaction_is_refused_and_logged_after_the_rollback(ticket):
    with pytest.raises(JournalRecordImmutable), transaction.atomic():
        JournalRecord.objects.filter(pk=ticket.pk).update(payload={"total": "0.01"})

    assert unchanged(ticket)
    (attempt,) = attempts()
    assert attempt.payload["operation"] == "update"
    assert attempt.payload["fields"] == ["payload"]
    assert attempt.payload["records"] == [{"id": ticket.pk, "chain": ticket.chain_id, "number": 1}]
    assert "tests/pos/test_fiscal_tampering.py" in attempt.payload["at"]
    assert journal_verify().intact


def test_saving_a_changed_record_is_refused_and_logged(ticket):
    record = JournalRecord.objects.get(pk=ticket.pk)
    record.payload = {"total": "0.01"}

    with pytest.raises(JournalRecordImmutable, match="cannot be changed or deleted"):
        record.save()

    assert unchanged(ticket)
    assert [a.payload["operation"] for a in attempts()] == ["save"]


def test_deleting_records_is_refused_and_logged(ticket):
    with pytest.raises(JournalRecordImmutable):
        JournalRecord.objects.get(pk=ticket.pk).delete()
    with pytest.raises(JournalRecordImmutable), transaction.atomic():
        JournalRecord.objects.filter(kind="ticket").delete()
    with pytest.raises(JournalRecordImmutable), transaction.atomic():
        JournalRecord.objects.bulk_update([ticket], ["reference"])

    assert unchanged(ticket)
    assert [a.payload["operation"] for a in attempts()] == ["delete", "delete", "update"]
    assert JournalRecord.objects.filter(kind="ticket").count() == 1
    assert journal_verify().intact


@pytest.mark.parametrize("caller_fails", [False, True])
def test_an_attempt_while_the_caller_holds_the_company_chain_is_logged_when_it_ends(
    ticket, caller_fails
):
    refused = pytest.raises(JournalRecordImmutable) if caller_fails else nullcontext()
    with refused, transaction.atomic():
        journal_append(
            chain="company", kind="event", event_code="closing", payload={}, occurred_at=WHEN
        )
        try:
            JournalRecord.objects.filter(pk=ticket.pk).update(reference="X")
        except JournalRecordImmutable:
            if caller_fails:
                raise
    tampering_attempts_wait()

    assert unchanged(ticket)
    closings = JournalRecord.objects.filter(event_code="closing").count()
    assert closings == (0 if caller_fails else 1)
    assert [a.payload["operation"] for a in attempts()] == ["update"]
    assert journal_verify().intact
