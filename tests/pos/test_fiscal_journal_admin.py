"""The fiscal journal in the admin: read only, and *Verify the journal* names the first
broken record after a change that bypassed the database's refusal; the check is logged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from pos.fiscal import journal_append
from pos.models import JournalRecord

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
URL = "/admin/pos/journalrecord/"


@pytest.fixture
def admin(client):
    user = get_user_model().objects.create_superuser("claire", "c@example.com", "pw-claire-1")
    client.force_login(user)
    return client


def test_verify_names_the_record_changed_behind_the_databases_back(admin, shop):
    when = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for n in range(3):
        journal_append(
            chain=shop.register,
            kind="ticket",
            payload={"total": f"{10 + n}.00"},
            reference=f"UC{n}",
            occurred_at=when,
        )
    listed = admin.get(URL)
    assert listed.status_code == 200
    assert "Verify the journal" in listed.content.decode()

    intact = admin.post(URL + "verify/")
    assert 'data-result="intact"' in intact.content.decode()

    target = JournalRecord.objects.get(reference="UC1")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE pos_journalrecord SET payload = %s WHERE id = %s",
                ['{"total": "0.01"}', target.pk],
            )
        finally:
            cursor.execute("SET session_replication_role = origin")

    broken = admin.post(URL + "verify/").content.decode()
    assert 'data-result="broken"' in broken
    assert "#2" in broken  # the changed record, second of its chain
    checks = JournalRecord.objects.filter(event_code="integrity_check").order_by("id")
    assert [c.payload["result"] for c in checks] == ["intact", "broken"]
    assert admin.get(f"{URL}{target.pk}/delete/").status_code == 403


def test_the_admin_offers_no_change_and_a_forged_post_is_refused(admin, shop):
    record = journal_append(
        chain=shop.register,
        kind="ticket",
        payload={"total": "10.00"},
        reference="UC1",
        occurred_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )
    page = admin.get(f"{URL}{record.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html
    assert f"{record.pk}/delete/" not in html
    assert "delete_selected" not in admin.get(URL).content.decode()

    forged = admin.post(
        f"{URL}{record.pk}/change/",
        {"reference": "FORGED", "payload": '{"total": "0.01"}', "number": "1"},
    )
    deleted = admin.post(f"{URL}{record.pk}/delete/", {"post": "yes"})
    bulk = admin.post(URL, {"action": "delete_selected", "_selected_action": [record.pk]})

    assert (forged.status_code, deleted.status_code) == (403, 403)
    assert bulk.status_code in (200, 302)
    stored = JournalRecord.objects.get(pk=record.pk)
    assert (stored.reference, stored.payload, stored.hash) == ("UC1", record.payload, record.hash)
    assert not JournalRecord.objects.filter(event_code="tampering_attempt").exists()
