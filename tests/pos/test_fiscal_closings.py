"""Daily, monthly and yearly closings of the fiscal journal, per store and for the
company: the calendar day in Europe/Paris, a day without sales closed too, across a month
boundary, idempotent, and a perpetual grand total equal to the sum of all tickets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pos.fiscal import journal_append, journal_verify
from pos.fiscal.closings import closing_produce, closings_due
from pos.models import JournalRecord

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
PARIS = ZoneInfo("Europe/Paris")


def ticket(register, when: dt.datetime, total: str, vat: str, tenders=None) -> None:
    journal_append(
        chain=register,
        kind="ticket",
        payload={
            "total": total,
            "vat": [{"rate": "20.0", "gross": total, "vat": vat, "net": "0.00"}],
            "tenders": tenders if tenders is not None else {"cash": total},
        },
        reference=f"T{when.isoformat()}",
        occurred_at=when,
        signed_total=Decimal(total),
    )


def credit_note(register, when: dt.datetime, total: str, tenders) -> None:
    journal_append(
        chain=register,
        kind="credit_note",
        payload={"total": total, "tenders": tenders},
        reference=f"C{when.isoformat()}",
        occurred_at=when,
        signed_total=-Decimal(total),
    )


@pytest.fixture
def sales(shop):
    # 23:30 in Paris on 31 January is still 31 January (22:30 UTC).
    ticket(shop.register, dt.datetime(2027, 1, 31, 23, 30, tzinfo=PARIS), "12.00", "2.00")
    ticket(
        shop.register,
        dt.datetime(2027, 2, 1, 0, 10, tzinfo=PARIS),
        "30.00",
        "5.00",
        tenders={"card_terminal": "25.00", "gift_card": "5.00"},
    )
    ticket(shop.register, dt.datetime(2027, 2, 1, 18, 0, tzinfo=PARIS), "6.00", "1.00")
    return shop


def _tenders_of(records) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for record in records:
        for code, amount in record.payload.get("tenders", {}).items():
            totals[code] = totals.get(code, Decimal("0")) + Decimal(amount)
    return {code: f"{amount:.2f}" for code, amount in sorted(totals.items())}


def test_daily_closings_follow_the_paris_calendar_and_carry_the_grand_total(sales):
    store = sales.store
    jan31 = closing_produce(period="day", day=dt.date(2027, 1, 31), store=store)
    feb1 = closing_produce(period="day", day=dt.date(2027, 2, 1), store=store)
    feb2 = closing_produce(period="day", day=dt.date(2027, 2, 2), store=store)  # no sale

    assert (jan31.payload["tickets"], jan31.payload["total"]) == (1, "12.00")
    assert (feb1.payload["tickets"], feb1.payload["total"]) == (2, "36.00")
    assert (feb2.payload["tickets"], feb2.payload["total"]) == (0, "0.00")
    assert [c.payload["grand_total"] for c in (jan31, feb1, feb2)] == ["12.00", "48.00", "48.00"]
    assert feb1.payload["vat"] == [
        {"rate": "20.0", "gross": "36.00", "vat": "6.00", "net": "30.00"}
    ]
    assert [c.number for c in (jan31, feb1, feb2)] == [1, 2, 3]  # one chain, gapless
    assert journal_verify().intact
    assert jan31.payload["tenders"] == {"cash": "12.00"}
    assert feb1.payload["tenders"] == {
        "card_terminal": "25.00",
        "cash": "6.00",
        "gift_card": "5.00",
    }
    assert feb2.payload["tenders"] == {}
    assert (feb1.payload["credit_notes_tenders"], feb2.payload["credit_notes_tenders"]) == ({}, {})


def test_a_closings_totals_per_tender_are_the_sum_of_its_tickets_and_credit_notes(sales):
    feb1 = dt.datetime(2027, 2, 1, 12, 0, tzinfo=PARIS)
    credit_note(sales.register, feb1, "6.00", {"cash": "6.00"})
    credit_note(sales.register, feb1, "5.00", {"store_credit": "5.00"})
    credit_note(sales.register, feb1, "4.00", {"refund": "4.00"})
    closing_produce(period="day", day=dt.date(2027, 1, 31), store=sales.store)
    closing = closing_produce(period="day", day=dt.date(2027, 2, 1), store=sales.store)
    company = closing_produce(period="month", day=dt.date(2027, 2, 1), store=None)

    day = JournalRecord.objects.filter(
        occurred_at__gte=dt.datetime(2027, 2, 1, tzinfo=PARIS),
        occurred_at__lt=dt.datetime(2027, 2, 2, tzinfo=PARIS),
    )
    tickets, notes = day.filter(kind="ticket"), day.filter(kind="credit_note")
    assert closing.payload["tenders"] == _tenders_of(tickets)
    assert closing.payload["credit_notes_tenders"] == _tenders_of(notes)
    assert closing.payload["credit_notes_tenders"] == {
        "cash": "6.00",
        "refund": "4.00",
        "store_credit": "5.00",
    }
    assert sum(Decimal(a) for a in closing.payload["tenders"].values()) == Decimal(
        closing.payload["tickets_total"]
    )
    assert company.payload["tenders"] == closing.payload["tenders"]
    assert (closing.payload["total"], closing.payload["grand_total"]) == ("21.00", "33.00")
    # The register's running total on its last record agrees with the perpetual total.
    last = JournalRecord.objects.filter(chain__register=sales.register).order_by("-created_at")
    assert last.first().payload["grand_total"] == "33.00"


def test_a_closing_is_written_once_and_months_close_on_their_boundary(sales):
    first = closing_produce(period="day", day=dt.date(2027, 2, 1), store=sales.store)
    again = closing_produce(period="day", day=dt.date(2027, 2, 1), store=sales.store)
    assert again.pk == first.pk
    january = closing_produce(period="month", day=dt.date(2027, 1, 15), store=sales.store)
    february = closing_produce(period="month", day=dt.date(2027, 2, 15), store=sales.store)
    assert (january.payload["from"], january.payload["to"]) == ("2027-01-01", "2027-02-01")
    assert (january.payload["total"], february.payload["total"]) == ("12.00", "36.00")
    assert february.payload["grand_total"] == "48.00"


def test_beat_closes_yesterday_and_on_the_first_last_month_for_stores_and_company(sales):
    produced = closings_due(dt.date(2027, 2, 1))
    kinds = sorted((r.kind, r.chain.store_id is None) for r in produced)
    assert kinds == [
        ("closing_day", False),
        ("closing_day", True),
        ("closing_month", False),
        ("closing_month", True),
    ]
    company_month = next(
        r for r in produced if r.kind == "closing_month" and r.chain.store_id is None
    )
    assert company_month.payload["total"] == "12.00"  # January
    assert len(closings_due(dt.date(2027, 2, 1))) == 4  # again: the same four
    assert JournalRecord.objects.filter(kind__startswith="closing").count() == 4
    events = JournalRecord.objects.filter(kind="event", event_code="closing")
    assert sorted(e.reference for e in events) == sorted(r.reference for r in produced)
    tickets = sum(Decimal(r.payload["total"]) for r in JournalRecord.objects.filter(kind="ticket"))
    day_closings = [
        closing_produce(period="day", day=dt.date(2027, 2, d), store=None) for d in (1, 2)
    ]
    assert Decimal(day_closings[-1].payload["grand_total"]) == tickets
