"""The canonical form of a journal record and its hash (docs/fiscal.md says the same in
words; docs/fiscal_verify.py repeats it with the standard library only).

canonical(fields) = JSON, keys sorted, no whitespace, UTF-8 (no \\u escapes), of:
    chain        {"kind", "register_id", "scope", "store_id"}
    number       integer
    kind         the record's kind
    event_code   "" unless kind is "event"
    occurred_at  UTC, ISO 8601 with microseconds: "2026-12-06T23:31:53.000000Z"
    created_at   the same format
    reference    text
    payload      JSON of strings, integers, booleans, null, lists and objects; amounts are
                 strings with 2 decimals ("19.90")
hash = SHA-256 hex of previous_hash + "\\n" + canonical.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pos.exceptions import JournalPayloadInvalid

CENT = Decimal("0.01")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same format computed by PostgreSQL (journal_verify reads times this way).
SQL_TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def payload_canonical(value: Any, path: str = "payload") -> Any:
    """The payload as the journal keeps it: Decimals become strings with 2 decimals
    (refused if they have more: an amount is never rounded silently); floats, which JSON
    cannot keep exactly, are refused."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.quantize(CENT):
            raise JournalPayloadInvalid(path=path, problem=f"{value} is not an amount in cents")
        return f"{value.quantize(CENT):f}"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise JournalPayloadInvalid(path=path, problem="keys must be text")
        return {key: payload_canonical(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [payload_canonical(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise JournalPayloadInvalid(
        path=path, problem=f"a {type(value).__name__} (use a Decimal or a string)"
    )


def chain_identity(*, kind: str, register_id: int | None, store_id: int | None) -> dict:
    scope = "register" if register_id is not None else "store" if store_id else "company"
    return {"kind": kind, "register_id": register_id, "scope": scope, "store_id": store_id}


def canonical(fields: dict) -> bytes:
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(previous_hash: str, fields: dict) -> str:
    return hashlib.sha256(previous_hash.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


def record_fields(
    *,
    chain: dict,
    number: int,
    kind: str,
    event_code: str,
    occurred_at: str,
    created_at: str,
    reference: str,
    payload: Any,
) -> dict:
    """The hashed fields of a record (times already in their canonical text)."""
    return {
        "chain": chain,
        "number": number,
        "kind": kind,
        "event_code": event_code,
        "occurred_at": occurred_at,
        "created_at": created_at,
        "reference": reference,
        "payload": payload,
    }
