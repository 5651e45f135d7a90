"""A period's archive: one JSON-lines file per chain and a manifest of hashes, which
docs/fiscal_verify.py verifies offline. The export is itself logged in the JET."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from pos.fiscal.canonical import canonical, chain_identity
from pos.fiscal.journal import COMPANY, chain_records, journal_append, journal_snapshot
from pos.models import JournalChain, JournalEventCode, JournalKind

ARCHIVE_FORMAT = "unicommerce-fiscal-archive/1"
PARIS = ZoneInfo("Europe/Paris")


def _chain_file(chain: JournalChain, out: Path, start: datetime, end: datetime) -> dict | None:
    """Write the chain's records chained in [start, end) to its file; its manifest entry
    (None when the chain has no record in the period)."""
    name = f"{chain.scope}-{chain.scope_id or 'company'}-{chain.kind}.jsonl"
    path = out / name
    digest = hashlib.sha256()
    entry: dict = {"records": 0}
    with path.open("wb") as stream:
        records = chain_records(
            chain, where="AND created_at >= %s AND created_at < %s", params=(start, end)
        )
        for fields, previous_hash, stored in records:
            line = canonical({**fields, "previous_hash": previous_hash, "hash": stored}) + b"\n"
            stream.write(line)
            digest.update(line)
            if not entry["records"]:
                entry.update(
                    first_number=fields["number"],
                    first_previous_hash=previous_hash,
                    first_hash=stored,
                )
            entry.update(
                records=entry["records"] + 1, last_number=fields["number"], last_hash=stored
            )
    if not entry["records"]:
        path.unlink()
        return None
    identity = chain_identity(
        kind=chain.kind, register_id=chain.register_id, store_id=chain.store_id
    )
    return {"chain": identity, "file": name, **entry, "sha256": digest.hexdigest()}


def journal_export(*, first_day: date, last_day: date, out: Path) -> dict:
    """Every chain's records chained from ``first_day`` to ``last_day`` included
    (calendar days in Europe/Paris, by the time each record was chained, so that each
    file holds consecutive numbers) into ``out``; returns the manifest, whose SHA-256 the
    JET event of the export keeps."""
    start = datetime.combine(first_day, time.min, tzinfo=PARIS)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=PARIS)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    with journal_snapshot():  # the tills may go on selling while it runs
        for chain in JournalChain.objects.order_by("pk"):
            entry = _chain_file(chain, out, start, end)
            if entry is not None:
                entries.append(entry)
    manifest = {
        "format": ARCHIVE_FORMAT,
        "period": {
            "from": first_day.isoformat(),
            "to": last_day.isoformat(),
            "timezone": "Europe/Paris",
            "selected_by": "created_at",
        },
        "exported_at": timezone.now().isoformat(),
        "hash": "sha256(previous_hash + '\\n' + canonical(record fields))",
        "chains": entries,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    manifest_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with transaction.atomic():
        journal_append(
            chain=COMPANY,
            kind=JournalKind.EVENT,
            event_code=JournalEventCode.ARCHIVE_EXPORT,
            occurred_at=timezone.now(),
            reference=f"{first_day.isoformat()}..{last_day.isoformat()}",
            payload={
                "from": first_day.isoformat(),
                "to": last_day.isoformat(),
                "chains": len(entries),
                "records": sum(entry["records"] for entry in entries),
                "manifest_sha256": manifest_sha256,
            },
        )
    return {**manifest, "manifest_sha256": manifest_sha256}
