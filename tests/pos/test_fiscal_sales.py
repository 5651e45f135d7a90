"""The fiscal journal fed by real till sales (``pos.services.sale_complete``), not by
hand-made records: concurrent sales on 20 registers keep every ticket chain gapless and
valid with one ticket per order; sales and a return on both sides of a month boundary
(the clock moved) close into the right days and months, with the perpetual grand total
equal to the sum of all tickets less the credit notes; a raw-SQL change to one real
ticket's amount is found at exactly that record."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Order
from orders.services.carts import cart_create, cart_line_add
from pos.fiscal import journal_verify
from pos.fiscal.closings import closing_produce
from pos.models import JournalRecord
from pos.returns import till_return_record
from pos.services import sale_complete
from pos.sessions import session_open
from tests.factories import RegisterFactory

pytestmark = pytest.mark.register_closed
PARIS = ZoneInfo("Europe/Paris")


def sell(register, seller, variant, quantity: int = 1) -> Order:
    cart = cart_create(channel=register.channel)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=register.channel)
    return sale_complete(
        register=register,
        cart=cart,
        payment_method="cash",
        tendered=Decimal("500.00"),
        seller=seller,
    ).order


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_on_20_registers_keep_every_chain_gapless_and_valid(
    shop, stocked_variant, fiscal_journal_wipe
):
    tee = stocked_variant(store=500, price_amount=Decimal("19.90"))
    registers = [shop.register] + [
        RegisterFactory(location=shop.store, channel=shop.store_channel) for _ in range(19)
    ]
    for register in registers:
        session_open(register=register, user=shop.seller, counted="0.00")
    barrier = threading.Barrier(8)
    failures: list[Exception] = []

    def till(index: int) -> None:
        try:
            barrier.wait()
            for n in range(10):  # each thread walks over the registers: chains shared
                sell(registers[(index + 8 * n) % 20], shop.seller, tee)
        except Exception as error:  # asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=till, args=(i,)) for i in range(8)]
    [thread.start() for thread in threads]
    [thread.join(120) for thread in threads]

    assert failures == []
    assert Order.objects.count() == 80
    for register in registers:
        numbers = list(
            JournalRecord.objects.filter(chain__register=register, kind="ticket")
            .order_by("number")
            .values_list("number", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1))
    references = JournalRecord.objects.filter(kind="ticket").values_list("reference", flat=True)
    assert sorted(references) == sorted(order.reference for order in Order.objects.all())
    check = journal_verify()
    assert check.intact, check.breaks


class Clock:
    """``django.utils.timezone.now`` as the test says: every ``auto_now_add``, session
    and journal time follows it."""

    def __init__(self, monkeypatch) -> None:
        self.moment = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.moment)

    def set(self, *args) -> None:
        self.moment = dt.datetime(*args, tzinfo=PARIS)


@pytest.mark.django_db
def test_real_sales_and_a_return_close_on_both_sides_of_a_month_boundary(
    shop, stocked_variant, monkeypatch
):
    tee = stocked_variant(store=20, price_amount=Decimal("19.90"))
    scarf = stocked_variant(store=20, price_amount=Decimal("29.00"))
    clock = Clock(monkeypatch)
    clock.set(2027, 1, 31, 18, 0)
    session_open(register=shop.register, user=shop.seller, counted="100.00")
    clock.set(2027, 1, 31, 23, 30)  # 22:30 UTC: still 31 January in Paris
    january = sell(shop.register, shop.seller, tee, quantity=2)
    clock.set(2027, 2, 1, 0, 10)
    sell(shop.register, shop.seller, scarf)
    clock.set(2027, 2, 1, 10, 0)  # one tee of January's sale comes back in February
    till_return_record(
        order=january,
        register=shop.register,
        lines=[{"order_line": january.lines.get(), "quantity": 1, "reason": "wrong_size"}],
        outcome="refund",
        user=shop.seller,
    )

    days = [
        closing_produce(period="day", day=dt.date(2027, 1, d), store=shop.store) for d in (30, 31)
    ] + [closing_produce(period="day", day=dt.date(2027, 2, d), store=shop.store) for d in (1, 2)]
    figures = [(c.payload["tickets"], c.payload["credit_notes"], c.payload["total"]) for c in days]
    assert figures == [(0, 0, "0.00"), (1, 0, "39.80"), (1, 1, "9.10"), (0, 0, "0.00")]
    assert [c.payload["grand_total"] for c in days] == ["0.00", "39.80", "48.90", "48.90"]
    months = [
        closing_produce(period="month", day=dt.date(2027, m, 1), store=shop.store) for m in (1, 2)
    ]
    assert [c.payload["total"] for c in months] == ["39.80", "9.10"]
    # February: the scarf's VAT (4.83 on 29.00) less the returned tee's (3.32 on 19.90).
    assert months[1].payload["vat"] == [
        {"rate": "20.0", "gross": "9.10", "vat": "1.51", "net": "7.59"}
    ]
    note = JournalRecord.objects.get(kind="credit_note")
    assert note.payload["vat"] == [
        {"rate": "20.0", "gross": "19.90", "vat": "3.32", "net": "16.58"}
    ]
    year = closing_produce(period="year", day=dt.date(2027, 6, 1), store=None)
    tickets = sum(Decimal(r.payload["total"]) for r in JournalRecord.objects.filter(kind="ticket"))
    notes = sum(
        Decimal(r.payload["total"]) for r in JournalRecord.objects.filter(kind="credit_note")
    )
    assert (tickets, notes) == (Decimal("68.80"), Decimal("19.90"))
    assert Decimal(year.payload["grand_total"]) == tickets - notes
    assert Decimal(months[-1].payload["grand_total"]) == tickets - notes
    assert journal_verify().intact


@pytest.mark.django_db
def test_a_raw_sql_change_to_a_real_tickets_amount_is_found_at_that_record(shop, stocked_variant):
    tee = stocked_variant(store=5, price_amount=Decimal("19.90"))
    session_open(register=shop.register, user=shop.seller, counted="0.00")
    orders = [sell(shop.register, shop.seller, tee) for _ in range(3)]
    second = JournalRecord.objects.get(kind="ticket", reference=orders[1].reference)
    with connection.cursor() as cursor:  # what a tamperer with database rights would do
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE pos_journalrecord SET payload = jsonb_set(payload, '{total}', "
                "'\"1.00\"') WHERE id = %s",
                [second.pk],
            )
        finally:
            cursor.execute("SET session_replication_role = origin")

    check = journal_verify()

    assert not check.intact
    assert [(b.chain.pk, b.number) for b in check.breaks] == [(second.chain_id, second.number)]
