"""The fiscal journal (issue 15): gapless numbers per chain, SHA-256 links over the
documented canonical form, a database that refuses changes, and verification that names
the first broken record after tampering that bypasses the trigger."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from pos.exceptions import (
    JournalEventCodeInvalid,
    JournalKindNotAllowed,
    JournalPayloadInvalid,
    JournalTimeInvalid,
)
from pos.fiscal import COMPANY, journal_append, journal_verify
from pos.models import GENESIS_HASH, JournalChain, JournalRecord
from tests.factories import RegisterFactory
from tests.orders.test_checkout_concurrency import run_concurrently

# The shop's register starts without a session: the journal holds only what a test writes.
pytestmark = pytest.mark.register_closed

ROOT = Path(__file__).resolve().parents[2]
WHEN = datetime(2026, 12, 6, 22, 30, 5, 120000, tzinfo=UTC)
NAIVE = datetime(2026, 12, 6, 12)  # noqa: DTZ001 - a time without its zone, on purpose


def _ticket(register, total: str, *, number: int = 0, at: datetime = WHEN) -> JournalRecord:
    return journal_append(
        chain=register,
        kind="ticket",
        reference=f"T-{number}",
        occurred_at=at,
        payload={"total_amount": Decimal(total), "lines": [{"sku": "TEE", "quantity": 1}]},
    )


def _documented_hash(previous_hash: str, fields: dict) -> str:
    """docs/fiscal.md, written again here on purpose (not imported from the code)."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{previous_hash}\n{text}".encode()).hexdigest()


def test_records_are_numbered_from_1_and_chained_by_the_documented_hash(shop):
    first = _ticket(shop.register, "19.9", number=1)
    second = _ticket(shop.register, "5.00", number=2)
    third = _ticket(shop.register, "0.01", number=3)

    assert [first.number, second.number, third.number] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH == "0" * 64
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert first.payload["total_amount"] == "19.90"
    created = first.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert first.hash == _documented_hash(
        GENESIS_HASH,
        {
            "chain": {
                "kind": "ticket",
                "register_id": shop.register.pk,
                "scope": "register",
                "store_id": None,
            },
            "number": 1,
            "kind": "ticket",
            "event_code": "",
            "occurred_at": "2026-12-06T22:30:05.120000Z",
            "created_at": created,
            "reference": "T-1",
            "payload": {"lines": [{"quantity": 1, "sku": "TEE"}], "total_amount": "19.90"},
        },
    )
    head = JournalChain.objects.get(register=shop.register, kind="ticket")
    assert (head.last_number, head.last_hash) == (3, third.hash)


def test_journal_verify_walks_every_chain_and_finds_them_intact(shop):
    other = RegisterFactory(location=shop.store)
    for _ in range(3):
        _ticket(shop.register, "10.00")
    _ticket(other, "7.50")
    journal_append(chain=other, kind="credit_note", occurred_at=WHEN, payload={"total": "-7.50"})
    journal_append(chain=shop.store, kind="closing_day", occurred_at=WHEN, payload={"n": 4})
    journal_append(
        chain=COMPANY, kind="event", event_code="software_version", occurred_at=WHEN, payload={}
    )

    check = journal_verify()

    assert (check.chains, check.records, check.breaks, check.intact) == (5, 7, [], True)
    assert JournalChain.objects.get(store=shop.store, kind="closing_day").register is None


def test_a_rolled_back_sale_leaves_no_hole_in_the_numbering(shop):
    _ticket(shop.register, "1.00")

    def failed_sale() -> None:
        with transaction.atomic():
            _ticket(shop.register, "2.00")  # the sale's transaction fails after its ticket
            raise RuntimeError("payment refused")

    with pytest.raises(RuntimeError):
        failed_sale()
    after = _ticket(shop.register, "3.00")

    assert after.number == 2
    numbers = list(JournalRecord.objects.values_list("number", "payload__total_amount"))
    assert numbers == [(1, "1.00"), (2, "3.00")]
    assert journal_verify().intact


@pytest.mark.parametrize(
    ("chain", "kind", "payload", "extra", "error"),
    [
        ("register", "ticket", {"total": 1.5}, {}, JournalPayloadInvalid),
        ("register", "ticket", {"total": Decimal("1.005")}, {}, JournalPayloadInvalid),
        ("company", "ticket", {}, {}, JournalKindNotAllowed),
        ("register", "closing_day", {}, {}, JournalKindNotAllowed),
        ("company", "event", {}, {}, JournalEventCodeInvalid),
        ("company", "event", {}, {"event_code": "made_up"}, JournalEventCodeInvalid),
        ("register", "ticket", {}, {"event_code": "reprint"}, JournalEventCodeInvalid),
        ("register", "ticket", {}, {"occurred_at": NAIVE}, JournalTimeInvalid),
        ("company", "closing_day", {}, {"signed_total": Decimal("1.00")}, TypeError),
        ("register", "event", {}, {"event_code": "reprint", "signed_total": Decimal(1)}, TypeError),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(shop, chain, kind, payload, extra, error):
    target = shop.register if chain == "register" else COMPANY
    arguments = {"occurred_at": WHEN, **extra}

    with pytest.raises(error):
        journal_append(chain=target, kind=kind, payload=payload, **arguments)

    assert JournalRecord.objects.count() == 0
    assert JournalChain.objects.count() == 0


def test_the_running_total_follows_tickets_and_credit_notes_and_rolls_back_with_them(shop):
    def record(kind: str, total: str):
        sign = 1 if kind == "ticket" else -1
        return journal_append(
            chain=shop.register,
            kind=kind,
            payload={"total": total},
            occurred_at=WHEN,
            signed_total=sign * Decimal(total),
        )

    first = record("ticket", "20.00")
    note = record("credit_note", "5.00")  # its chain's first record: the total carries on

    def failed_sale() -> None:
        with transaction.atomic():
            record("ticket", "7.00")
            raise RuntimeError("payment refused")

    with pytest.raises(RuntimeError):
        failed_sale()
    last = record("ticket", "1.50")

    totals = [r.payload["grand_total"] for r in (first, note, last)]
    assert totals == ["20.00", "15.00", "16.50"]
    head = JournalChain.objects.get(register=shop.register, kind="ticket")
    assert head.grand_total == Decimal("16.50")
    assert JournalChain.objects.get(register=shop.register, kind="credit_note").grand_total == 0
    assert journal_verify().intact


@pytest.mark.parametrize(
    "statement",
    [
        'UPDATE pos_journalrecord SET payload = \'{"total_amount": "0.00"}\'',
        "DELETE FROM pos_journalrecord",
        "TRUNCATE pos_journalrecord",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_record(shop, statement):
    record = _ticket(shop.register, "19.90")

    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK check

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        connection.cursor().execute(statement)

    assert JournalRecord.objects.get().payload == record.payload
    assert journal_verify().intact


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_on_20_registers_keep_every_chain_gapless_and_valid(
    shop, fiscal_journal_wipe
):
    """Two threads on each register's chain (register i and i+1), all starting together,
    the first appends racing to create the chain heads."""
    registers = [shop.register] + [RegisterFactory(location=shop.store) for _ in range(19)]

    def sell(index: int) -> int:
        for round_ in range(10):
            register = registers[(index + round_ % 2) % 20]
            with transaction.atomic():
                _ticket(register, f"{index}.{round_:02d}", at=timezone.now())
        return index

    outcomes = run_concurrently(20, sell)

    assert outcomes == list(range(20))
    for register in registers:
        numbers = list(
            JournalRecord.objects.filter(chain__register=register).values_list("number", flat=True)
        )
        assert numbers == list(range(1, 11))
    check = journal_verify()
    assert (check.chains, check.records, check.breaks) == (20, 200, [])


def _in_thread(work) -> object:
    """work() in a thread with its own connection; its result or its exception."""
    outcome: list = [None]

    def target() -> None:
        try:
            outcome[0] = work()
        except Exception as error:  # the outcome is what we assert on
            outcome[0] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return outcome[0]


def _append_without_waiting(register) -> JournalRecord:
    with transaction.atomic():
        connection.cursor().execute("SET LOCAL lock_timeout = '1s'")
        return _ticket(register, "2.00", at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_a_sale_in_progress_on_one_register_never_holds_up_another(shop, fiscal_journal_wipe):
    other = RegisterFactory(location=shop.store)
    _ticket(shop.register, "1.00")
    _ticket(other, "1.00")

    with transaction.atomic():  # a sale at Till 1, not committed yet
        _ticket(shop.register, "5.00")
        at_other = _in_thread(lambda: _append_without_waiting(other))
        at_same = _in_thread(lambda: _append_without_waiting(shop.register))

    assert isinstance(at_other, JournalRecord)
    assert at_other.number == 2
    assert isinstance(at_same, OperationalError)  # it waited for Till 1's lock
    assert "lock timeout" in str(at_same)
    assert journal_verify().intact


@pytest.mark.django_db(transaction=True)
def test_verifying_while_the_tills_sell_finds_every_chain_intact(shop, fiscal_journal_wipe):
    registers = [shop.register] + [RegisterFactory(location=shop.store) for _ in range(3)]
    selling = threading.Event()
    selling.set()

    def sell(index: int) -> int:
        for n in range(40):
            _ticket(registers[index], f"{n}.00", at=timezone.now())
        return index

    def watch() -> list:
        found = []
        while selling.is_set():
            found.extend(journal_verify().breaks)
        return found

    watcher: list = []
    thread = threading.Thread(target=lambda: watcher.append(_watch_closing(watch)))
    thread.start()
    outcomes = run_concurrently(4, sell)
    selling.clear()
    thread.join(30)

    assert outcomes == [0, 1, 2, 3]
    assert watcher == [[]]
    assert journal_verify().records == 160


def _watch_closing(work):
    try:
        return work()
    finally:
        connection.close()


def _bypass_trigger(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def test_a_raw_sql_change_of_one_amount_is_found_at_exactly_that_record(shop):
    other = RegisterFactory(location=shop.store)
    records = [_ticket(shop.register, f"{n}.00") for n in range(1, 8)]
    _ticket(other, "4.00")
    _bypass_trigger(
        "UPDATE pos_journalrecord SET payload = jsonb_set(payload, '{total_amount}', '\"0.50\"')"
        " WHERE id = %s",
        [records[4].pk],
    )

    check = journal_verify()

    assert [(b.chain.register_id, b.number, b.problem) for b in check.breaks] == [
        (shop.register.pk, 5, "hash")
    ]
    output = StringIO()
    with pytest.raises(CommandError, match="1 broken chain"):
        call_command("fiscal_verify", stdout=output)
    assert f"register:{shop.register.pk}:ticket #5: hash" in output.getvalue()
    jet = JournalRecord.objects.get(chain__kind="event", event_code="integrity_check")
    assert jet.payload["result"] == "broken"
    assert jet.payload["breaks"] == [
        {
            "chain": {
                "kind": "ticket",
                "register_id": shop.register.pk,
                "scope": "register",
                "store_id": None,
            },
            "number": 5,
            "problem": "hash",
        }
    ]


def test_a_record_removed_in_the_middle_or_at_the_end_is_named(shop):
    other = RegisterFactory(location=shop.store)
    middle = [_ticket(shop.register, "1.00") for _ in range(4)]
    tail = [_ticket(other, "1.00") for _ in range(3)]
    _bypass_trigger(
        "DELETE FROM pos_journalrecord WHERE id IN (%s, %s)", [middle[2].pk, tail[2].pk]
    )

    check = journal_verify()

    assert [(b.chain.register_id, b.number, b.problem) for b in check.breaks] == [
        (shop.register.pk, 3, "number"),
        (other.pk, 3, "head"),
    ]


def test_fiscal_verify_logs_an_intact_check_in_the_jet_and_exits_zero(shop):
    _ticket(shop.register, "2.00")
    output = StringIO()

    call_command("fiscal_verify", stdout=output)

    assert "1 chains, 1 records: intact" in output.getvalue()
    jet = JournalRecord.objects.get(event_code="integrity_check")
    assert (jet.chain.scope, jet.kind, jet.number) == ("company", "event", 1)
    assert jet.payload == {"result": "intact", "chains": 1, "records": 1, "breaks": []}


def _offline_verify(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "docs" / "fiscal_verify.py"), str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_export_verifies_offline_and_a_tampered_export_is_caught(shop, tmp_path):
    other = RegisterFactory(location=shop.store)
    for n in range(5):
        _ticket(shop.register, f"{n}.10")
    _ticket(other, "8.00")
    journal_append(chain=shop.store, kind="closing_day", occurred_at=WHEN, payload={"é": "ü"})
    today = timezone.localdate()
    out = tmp_path / "archive"

    call_command(
        "fiscal_export",
        "--from",
        str(today - timedelta(days=1)),
        "--to",
        str(today + timedelta(days=1)),
        "--out",
        str(out),
        stdout=StringIO(),
    )

    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(
        (c["file"], c["records"], c["last_number"]) for c in manifest["chains"]
    ) == sorted(
        [
            (f"register-{other.pk}-ticket.jsonl", 1, 1),
            (f"register-{shop.register.pk}-ticket.jsonl", 5, 5),
            (f"store-{shop.store.pk}-closing_day.jsonl", 1, 1),
        ]
    )
    jet = JournalRecord.objects.get(event_code="archive_export")
    assert jet.payload["records"] == 7
    logged = jet.payload["manifest_sha256"]
    intact = _offline_verify(out, "--manifest-sha256", logged)
    assert (intact.returncode, intact.stdout) == (0, "intact: 7 records\n")

    path = out / f"register-{shop.register.pk}-ticket.jsonl"
    lines = path.read_text().splitlines()
    assert '"total_amount":"3.10"' in lines[3]
    lines[3] = lines[3].replace('"total_amount":"3.10"', '"total_amount":"0.10"')
    path.write_text("\n".join(lines) + "\n")
    tampered = _offline_verify(out, "--manifest-sha256", logged)

    assert tampered.returncode == 1
    where = f"register-{shop.register.pk}-ticket.jsonl line 4 (record #4)"
    assert f"{where}: its content does not match its hash" in tampered.stdout
    assert "the file's SHA-256 is not the manifest's" in tampered.stdout
