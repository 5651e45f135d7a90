"""Append to a chain and verify the chains.

An append runs in the caller's transaction: the chain's head row is locked FOR UPDATE,
the record takes the next number and the head moves on. If the caller's transaction rolls
back (a sale that fails), the head's update rolls back with it: no number is lost, so the
numbering stays gapless. Only the head of that one chain is locked: registers, stores and
the company never wait on each other."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.models import Location
from pos.exceptions import JournalEventCodeInvalid, JournalKindNotAllowed, JournalTimeInvalid
from pos.fiscal.canonical import (
    SQL_TIME_FORMAT,
    canonical,
    chain_identity,
    payload_canonical,
    record_fields,
    record_hash,
    time_text,
)
from pos.locks import journal_chain_lock
from pos.models import (
    GENESIS_HASH,
    JournalChain,
    JournalEventCode,
    JournalKind,
    JournalRecord,
    Register,
)

COMPANY: Final = "company"
K = JournalKind
# Which sequences exist at which scope: a register numbers its own tickets; a store (or
# the company) its closings; every scope may log technical events.
CLOSINGS = [K.CLOSING_DAY, K.CLOSING_MONTH, K.CLOSING_YEAR]
ALLOWED_KINDS = {
    "register": [K.TICKET, K.CREDIT_NOTE, K.INVOICE, K.Z_REPORT, K.EVENT],
    "store": [K.TICKET, K.CREDIT_NOTE, K.INVOICE, *CLOSINGS, K.EVENT],
    "company": [K.INVOICE, *CLOSINGS, K.EVENT],
}


def _scope(chain: Register | Location | str) -> tuple[str, int | None, int | None]:
    if isinstance(chain, Register):
        return "register", chain.pk, None
    if isinstance(chain, Location):
        return "store", None, chain.pk
    if chain == COMPANY:
        return "company", None, None
    raise TypeError(f"a journal chain is a Register, a store Location or COMPANY: {chain!r}")


def _chain_head(*, register_id: int | None, store_id: int | None, kind: str) -> JournalChain:
    head = journal_chain_lock(register_id=register_id, store_id=store_id, kind=kind)
    if head is None:
        try:  # the first record of this chain: two first appends may race here
            with transaction.atomic():
                JournalChain.objects.create(register_id=register_id, store_id=store_id, kind=kind)
        except IntegrityError:
            pass  # the other one created it; its lock is ours once it commits
        head = journal_chain_lock(register_id=register_id, store_id=store_id, kind=kind)
    return head


# The register's perpetual grand total moves with its tickets (+) and credit notes (−).
RUNNING_TOTAL_KINDS = (K.TICKET, K.CREDIT_NOTE)


def _running_total(
    head: JournalChain, *, register_id: int, kind: str, signed_total: Decimal
) -> tuple[JournalChain, Decimal]:
    """The row holding the register's perpetual grand total (its ticket chain's head:
    the head already locked for a ticket; for a credit note, locked after the credit
    note's own head, always in that order) and the total after this record."""
    holder = (
        head
        if kind == K.TICKET
        else _chain_head(register_id=register_id, store_id=None, kind=K.TICKET)
    )
    return holder, holder.grand_total + signed_total


def _append_check(scope: str, kind: str, event_code: str, occurred_at: datetime, signed_total):
    if kind not in ALLOWED_KINDS[scope]:
        raise JournalKindNotAllowed(kind=kind, scope=scope, allowed=ALLOWED_KINDS[scope])
    if (kind == K.EVENT) != bool(event_code) or (
        event_code and event_code not in JournalEventCode.values
    ):
        raise JournalEventCodeInvalid(kind=kind, event_code=event_code)
    if timezone.is_naive(occurred_at):
        raise JournalTimeInvalid()
    if signed_total is not None and (scope != "register" or kind not in RUNNING_TOTAL_KINDS):
        raise TypeError("a running total is kept for a register's tickets and credit notes only")


def journal_append(
    *,
    chain: Register | Location | str,
    kind: str,
    payload: dict[str, Any],
    reference: str = "",
    occurred_at: datetime,
    event_code: str = "",
    signed_total: Decimal | None = None,
) -> JournalRecord:
    """The next record of ``chain``'s sequence of ``kind`` (a Register, a store Location,
    or COMPANY), numbered and hashed; inside the caller's transaction. A register's
    ticket or credit note gives its ``signed_total`` (incl. VAT, a credit note's
    negative): the record's payload then carries the register's perpetual grand total
    after it (``grand_total``), moved on under the same lock."""
    scope, register_id, store_id = _scope(chain)
    _append_check(scope, kind, event_code, occurred_at, signed_total)
    payload = payload_canonical(payload)
    with transaction.atomic(savepoint=False):
        head = _chain_head(register_id=register_id, store_id=store_id, kind=kind)
        holder, grand_total = None, None
        if signed_total is not None:
            holder, grand_total = _running_total(
                head, register_id=register_id, kind=kind, signed_total=signed_total
            )
            payload = {**payload, "grand_total": payload_canonical(grand_total)}
        created_at = timezone.now()  # after the lock: times follow the numbers
        number = head.last_number + 1
        fields = record_fields(
            chain=chain_identity(kind=kind, register_id=register_id, store_id=store_id),
            number=number,
            kind=kind,
            event_code=event_code,
            occurred_at=time_text(occurred_at),
            created_at=time_text(created_at),
            reference=reference,
            payload=payload,
        )
        digest = record_hash(head.last_hash, fields)
        record = JournalRecord.objects.create(
            chain=head,
            number=number,
            kind=kind,
            event_code=event_code,
            occurred_at=occurred_at,
            reference=reference,
            payload=payload,
            previous_hash=head.last_hash,
            hash=digest,
            created_at=created_at,
        )
        moved = {"grand_total": grand_total} if holder is head else {}
        JournalChain.objects.filter(pk=head.pk).update(
            last_number=number, last_hash=digest, **moved
        )
        if holder is not None and holder is not head:
            JournalChain.objects.filter(pk=holder.pk).update(grand_total=grand_total)
    return record


# --------------------------------------------------------------------------- verification

BATCH = 20_000
RECORDS_SQL = f"""
SELECT number, kind, event_code,
       to_char(occurred_at AT TIME ZONE 'UTC', '{SQL_TIME_FORMAT}'),
       to_char(created_at AT TIME ZONE 'UTC', '{SQL_TIME_FORMAT}'),
       reference, payload::text, previous_hash, hash
  FROM pos_journalrecord
 WHERE chain_id = %s AND number > %s {{where}}
 ORDER BY number
 LIMIT {BATCH}
"""  # noqa: S608 - constants only; values are parameters


def chain_records(
    chain: JournalChain, *, where: str = "", params: tuple = ()
) -> Iterator[tuple[dict, str, str]]:
    """(hashed fields, previous_hash, hash) of the chain's records in number order, read
    in batches (a chain may hold millions)."""
    identity = chain_identity(
        kind=chain.kind, register_id=chain.register_id, store_id=chain.store_id
    )
    sql = RECORDS_SQL.format(where=where)
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [chain.pk, after, *params])
            rows = cursor.fetchall()
            for number, kind, code, occurred, created, reference, payload, prev, stored in rows:
                fields = {
                    "chain": identity,
                    "number": number,
                    "kind": kind,
                    "event_code": code,
                    "occurred_at": occurred,
                    "created_at": created,
                    "reference": reference,
                    "payload": json.loads(payload),
                }
                yield fields, prev, stored
            if len(rows) < BATCH:
                return
            after = rows[-1][0]


@dataclass(frozen=True)
class ChainBreak:
    """The first broken record of a chain: its number and what is wrong
    (``problem``: number, kind, link, hash or head)."""

    chain: JournalChain
    number: int
    problem: str
    detail: str


@dataclass
class JournalCheck:
    chains: int = 0
    records: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def _chain_verify(chain: JournalChain) -> tuple[int, ChainBreak | None]:
    expected, last_hash, count = 1, GENESIS_HASH, 0
    sha256 = hashlib.sha256
    for fields, previous_hash, stored in chain_records(chain):
        number = fields["number"]
        if number != expected:
            return count, ChainBreak(
                chain, expected, "number", f"#{expected} missing, #{number} follows"
            )
        if fields["kind"] != chain.kind:
            return count, ChainBreak(
                chain, number, "kind", f"a {fields['kind']} in a {chain.kind} chain"
            )
        if previous_hash != last_hash:
            return count, ChainBreak(
                chain, number, "link", "its previous_hash is not the hash of the record before"
            )
        if sha256(previous_hash.encode() + b"\n" + canonical(fields)).hexdigest() != stored:
            return count, ChainBreak(chain, number, "hash", "its content does not match its hash")
        expected, last_hash, count = number + 1, stored, count + 1
    if (chain.last_number, chain.last_hash) != (expected - 1, last_hash):
        return count, ChainBreak(
            chain,
            expected,
            "head",
            f"the chain's head says #{chain.last_number} is the last, "
            f"the records end at #{expected - 1}",
        )
    return count, None


@contextmanager
def journal_snapshot() -> Iterator[None]:
    """One consistent view of the heads and the records for a long read while the tills
    go on appending (REPEATABLE READ: a head and its records are committed together, so
    the view never shows one without the other). Inside a caller's transaction, the
    caller's view is used as it is."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def journal_verify(*, chains: list[JournalChain] | None = None) -> JournalCheck:
    """Walk every chain (or these) in number order, recompute each hash, check the links
    and the numbering; the first broken record of each chain is named."""
    check = JournalCheck()
    with journal_snapshot():
        heads = JournalChain.objects.order_by("pk")
        if chains is not None:  # their heads as this view sees them
            heads = heads.filter(pk__in=[chain.pk for chain in chains])
        for chain in heads:
            count, broken = _chain_verify(chain)
            check.chains += 1
            check.records += count
            if broken is not None:
                check.breaks.append(broken)
    return check
