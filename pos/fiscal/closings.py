"""Periodic closings of the fiscal journal (BOI-TVA-DECLA-30-10-30): for each store and
for the company, a daily closing per calendar day (Europe/Paris, the project's time
zone), a monthly and a yearly one, each chained like the tickets in its own sequence
(``closing_day``, ``closing_month``, ``closing_year``).

A closing sums the tickets and credit notes of its period (the store's registers' chains,
or every register's for the company): per VAT rate (incl. VAT, VAT, excl. VAT), the
ticket and credit note counts and totals, their totals per tender (as the tickets and
credit notes record them), the voids (JET events), the period's net total,
and the **perpetual grand total**: the previous closing's of the same chain plus this
period's. A day without sales still gets its closing (zeros, the grand total carried).
Producing a closing twice gives the one already written (its reference is the period).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from inventory.models import Location
from pos.fiscal.events import jet_record
from pos.fiscal.journal import COMPANY, journal_append
from pos.models import JournalEventCode, JournalKind, JournalRecord

K = JournalKind
KIND_OF = {"day": K.CLOSING_DAY, "month": K.CLOSING_MONTH, "year": K.CLOSING_YEAR}
ZERO = Decimal("0.00")


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of the period holding ``day`` and the first day after it."""
    if period == "day":
        return day, day + dt.timedelta(days=1)
    if period == "month":
        start = day.replace(day=1)
        return start, (start + dt.timedelta(days=32)).replace(day=1)
    start = day.replace(month=1, day=1)
    return start, start.replace(year=start.year + 1)


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _records(store: Location | None, start: dt.date, end: dt.date):
    scope = Q(chain__register__isnull=False)
    if store is not None:
        scope &= Q(chain__register__location=store)
    return JournalRecord.objects.filter(
        scope, occurred_at__gte=_moment(start), occurred_at__lt=_moment(end)
    )


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _per_tender(totals: dict[str, Decimal], tenders: dict[str, str] | None) -> None:
    for code, amount in (tenders or {}).items():
        totals[code] += Decimal(amount)


def _figures(store: Location | None, start: dt.date, end: dt.date) -> dict:
    records = _records(store, start, end)
    vat: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    sold: dict[str, Decimal] = defaultdict(lambda: ZERO)
    given_back: dict[str, Decimal] = defaultdict(lambda: ZERO)
    tickets, ticket_total, notes, note_total = 0, ZERO, 0, ZERO
    for record in records.filter(kind__in=(K.TICKET, K.CREDIT_NOTE)).only("kind", "payload"):
        payload = record.payload
        if record.kind == K.TICKET:
            tickets += 1
            ticket_total += Decimal(payload["total"])
            for row in payload.get("vat", []):
                vat[row["rate"]][0] += Decimal(row["gross"])
                vat[row["rate"]][1] += Decimal(row["vat"])
            _per_tender(sold, payload.get("tenders"))
        else:
            notes += 1
            note_total += Decimal(payload["total"])
            for row in payload.get("vat", []):  # what a credit note gives back, VAT too
                vat[row["rate"]][0] -= Decimal(row["gross"])
                vat[row["rate"]][1] -= Decimal(row["vat"])
            _per_tender(given_back, payload.get("tenders"))
    voids = records.filter(kind=K.EVENT, event_code=JournalEventCode.VOID).count()
    return {
        "tickets": tickets,
        "tickets_total": _money(ticket_total),
        "tenders": {code: _money(amount) for code, amount in sorted(sold.items())},
        "credit_notes": notes,
        "credit_notes_total": _money(note_total),
        "credit_notes_tenders": {
            code: _money(amount) for code, amount in sorted(given_back.items())
        },
        "voids": voids,
        "vat": [
            {"rate": rate, "gross": _money(g), "vat": _money(t), "net": _money(g - t)}
            for rate, (g, t) in sorted(vat.items(), key=lambda item: Decimal(item[0]))
        ],
        "total": _money(ticket_total - note_total),
    }


def _previous_grand_total(chain_filter: Q, kind: str) -> Decimal:
    last = (
        JournalRecord.objects.filter(chain_filter, kind=kind).order_by("-number").only("payload")
    ).first()
    return Decimal(last.payload["grand_total"]) if last is not None else ZERO


@transaction.atomic
def closing_produce(*, period: str, day: dt.date, store: Location | None) -> JournalRecord:
    """The closing of the period holding ``day`` for ``store`` (None: the company),
    written once."""
    kind = KIND_OF[period]
    start, end = period_bounds(period, day)
    reference = f"{period}:{start.isoformat()}"
    if store is not None:
        chain_filter = Q(chain__store=store, chain__register__isnull=True)
    else:
        chain_filter = Q(chain__store__isnull=True, chain__register__isnull=True)
    with connection.cursor() as cursor:  # two producers at once: the second finds it done
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"closing:{store.pk if store else 0}:{reference}"],
        )
    done = JournalRecord.objects.filter(chain_filter, kind=kind, reference=reference).first()
    if done is not None:
        return done
    figures = _figures(store, start, end)
    grand_total = _previous_grand_total(chain_filter, kind) + Decimal(figures["total"])
    chain = store if store is not None else COMPANY
    closing = journal_append(
        chain=chain,
        kind=kind,
        payload={
            "period": period,
            "from": start.isoformat(),
            "to": end.isoformat(),
            **figures,
            "grand_total": _money(grand_total),
        },
        reference=reference,
        occurred_at=_moment(end),
    )
    jet_record(
        chain=chain,
        code=JournalEventCode.CLOSING,
        reference=reference,
        payload={"kind": kind, "number": closing.number, "hash": closing.hash},
    )
    return closing


def closings_due(today: dt.date) -> list[JournalRecord]:
    """What beat produces each night: yesterday's daily closings for every store and the
    company; on the first of a month, last month's; on the first of January, last year's.
    Idempotent: a closing already written is given back."""
    yesterday = today - dt.timedelta(days=1)
    periods = ["day"]
    if today.day == 1:
        periods.append("month")
        if today.month == 1:
            periods.append("year")
    stores = list(Location.objects.filter(kind=Location.Kind.STORE).order_by("pk"))
    produced = []
    for period in periods:
        for store in [*stores, None]:
            produced.append(closing_produce(period=period, day=yesterday, store=store))
    return produced
