"""Verifying the fiscal journal: journal_verify over 1,000,000 records on 20 registers.

The records are generated once (kept for later runs): each register's ticket chain is
built in Python with the same canonical form and hash as journal_append (a realistic
ticket payload: lines, VAT breakdown, tenders), then loaded with COPY in one transaction.
Then journal_verify walks the 20 chains in number order, recomputing every hash.
    .venv/bin/python bench/bench_fiscal_verify.py      (or: make bench NAMES=fiscal_verify)

Figures: seconds to verify, records per second, breaks found (must be 0), and the
seconds the generation took (not a target).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from common import django_setup, now_iso, report, stack, vacuum_analyze

RECORDS = int(os.environ.get("BENCH_JOURNAL_RECORDS", "1000000"))
REGISTERS = 20
PREFIX = "bench-fiscal"
COLUMNS = (
    "chain_id, number, kind, event_code, occurred_at, reference, payload, previous_hash, "
    "hash, created_at"
)


def _registers() -> list:
    from inventory.models import Location
    from pos.models import Register
    from unicommerce.channels.models import SalesChannel

    channel, _ = SalesChannel.objects.get_or_create(
        code=f"{PREFIX}-store", defaults={"name": "Bench fiscal store", "kind": "store"}
    )
    store, _ = Location.objects.get_or_create(
        code=f"{PREFIX}-store", defaults={"name": "Bench fiscal store", "kind": "store"}
    )
    return [
        Register.objects.get_or_create(
            code=f"{PREFIX}-{n:02d}",
            defaults={"name": f"Bench till {n}", "location": store, "channel": channel},
        )[0]
        for n in range(1, REGISTERS + 1)
    ]


def _payload(number: int) -> dict:
    cents = 990 + (number * 37) % 20_000
    total = f"{cents // 100}.{cents % 100:02d}"
    return {
        "lines": [
            {
                "sku": f"SKU-{number % 997:04d}",
                "name": "Organic tee — navy",
                "quantity": 1,
                "unit_amount": total,
                "vat_code": "A",
                "total_amount": total,
            },
        ],
        "vat": [
            {
                "code": "A",
                "rate": "20.00",
                "base_amount": total,
                "vat_amount": "0.00",
                "total_amount": total,
            }
        ],
        "tenders": [{"method": "card_terminal", "amount": total}],
        "total_amount": total,
        "currency": "EUR",
        "seller": "seller-1",
    }


def _generate(chain, per_chain: int, cursor, start: datetime) -> None:
    """One chain's records, hashed as journal_append hashes them, COPYed."""
    import json

    from pos.fiscal.canonical import chain_identity, record_fields, record_hash, time_text
    from pos.models import GENESIS_HASH

    identity = chain_identity(kind="ticket", register_id=chain.register_id, store_id=None)
    previous = GENESIS_HASH
    with cursor.copy(f"COPY pos_journalrecord ({COLUMNS}) FROM STDIN") as copy:
        for number in range(1, per_chain + 1):
            moment = time_text(start + timedelta(milliseconds=number * 1500))
            payload = _payload(number)
            fields = record_fields(
                chain=identity,
                number=number,
                kind="ticket",
                event_code="",
                occurred_at=moment,
                created_at=moment,
                reference=f"T{chain.register_id}-{number}",
                payload=payload,
            )
            digest = record_hash(previous, fields)
            copy.write_row(
                (
                    chain.pk,
                    number,
                    "ticket",
                    "",
                    moment,
                    fields["reference"],
                    json.dumps(payload),
                    previous,
                    digest,
                    moment,
                )
            )
            previous = digest
    chain.last_number, chain.last_hash = per_chain, previous
    chain.save(update_fields=["last_number", "last_hash"])


def prepare() -> tuple[list, float]:
    """The 20 registers' ticket chains with RECORDS records in all (generated once)."""
    from django.db import connection, transaction

    from pos.models import JournalChain

    registers = _registers()
    per_chain = RECORDS // REGISTERS
    chains = [JournalChain.objects.get_or_create(register=r, kind="ticket")[0] for r in registers]
    if all(chain.last_number == per_chain for chain in chains):
        return chains, 0.0
    if any(chain.last_number for chain in chains):
        raise SystemExit("bench chains hold another number of records: use a fresh database")
    began = time.perf_counter()
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        for chain in chains:
            _generate(chain, per_chain, cursor.cursor, start)
    generated = time.perf_counter() - began
    vacuum_analyze()
    return chains, generated


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        from pos.fiscal import journal_verify

        chains, generated = prepare()
        began = time.perf_counter()
        check = journal_verify(chains=chains)
        elapsed = time.perf_counter() - began
        report(
            "fiscal_verify",
            started_at=started_at,
            workload={
                "records": check.records,
                "chains": check.chains,
                "registers": REGISTERS,
                "payload": "a ticket: 1 line, VAT breakdown, 1 tender (about 400 bytes)",
                "verified_by": "pos.fiscal.journal_verify (the code of manage.py fiscal_verify)",
            },
            figures={
                "verify_s": round(elapsed, 1),
                "records_per_s": round(check.records / elapsed),
                "breaks": len(check.breaks),
                "records_verified": check.records,
                "generation_s": round(generated, 1),
            },
            targets={"verify_s": "<= 60", "breaks": "<= 0", "records_verified": f">= {RECORDS}"},
        )


if __name__ == "__main__":
    main()
