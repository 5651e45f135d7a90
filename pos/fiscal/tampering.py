"""Refused changes to the fiscal journal, logged in the technical events log (JET) as
``tampering_attempt`` events of the company's chain.

The ORM refuses them (``pos.models.journal``: saving a record that exists, deleting one,
a queryset's ``update()`` or ``delete()``) before the database's trigger would. The
attempt must stay logged even though the caller's transaction, which just got an
exception, will most likely roll back. So:

- outside any transaction (autocommit), the event is written at once, in its own;
- inside one, it is written **on a connection of its own**: a short-lived thread (Django
  gives each thread its own connection) appends and commits it while the caller waits,
  so the caller's rollback cannot take it away. The caller waits at most ``CALLER_WAIT``
  seconds: if the caller itself holds the company chain's head (it appended a company
  event in the same transaction), the thread goes on waiting for that lock (up to
  ``LOCK_WAIT``) and writes the event as soon as the caller's transaction ends, whether
  it commits or rolls back. The thread is not a daemon: a command that ends meanwhile
  waits for it. A failure to write is logged as an error.

The payload says what was attempted (``save``, ``update`` or ``delete``), the records
aimed at (id, chain id and number; the first 50), the fields of an update, and where in
the code the call came from.
"""

from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from pos.fiscal.events import E, jet_record
from pos.fiscal.journal import COMPANY

logger = logging.getLogger(__name__)
LOCK_WAIT = "60s"
CALLER_WAIT = 2.0
_pending: set[threading.Thread] = set()
SKIPPED = ("/django/", "/pos/models/journal.py", "/pos/fiscal/tampering.py")


def _caller() -> str:
    """Where the refused call came from: the last frame outside Django and this guard."""
    base = str(Path(settings.BASE_DIR))
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not any(part in frame.filename for part in SKIPPED):
            where = frame.filename.removeprefix(base).lstrip("/")
            return f"{where}:{frame.lineno} in {frame.name}"[:200]
    return ""


def _write(payload: dict) -> None:
    jet_record(chain=COMPANY, code=E.TAMPERING_ATTEMPT, reference="", payload=payload)


def _write_apart(payload: dict) -> None:
    """In its own thread, so on its own connection and in its own transaction."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            _write(payload)
    except DatabaseError:
        logger.exception("a tampering attempt could not be logged: %s", payload)
    finally:
        connection.close()
        _pending.discard(threading.current_thread())


def tampering_attempt_record(*, operation: str, records: list[dict], fields: list[str]) -> None:
    """Log a refused change to the journal in a way the caller's rollback cannot undo."""
    payload = {"operation": operation, "records": records, "fields": fields, "at": _caller()}
    if not connection.in_atomic_block:
        _write(payload)
        return
    worker = threading.Thread(target=_write_apart, args=(payload,), name="tampering-attempt")
    _pending.add(worker)
    worker.start()
    worker.join(CALLER_WAIT)


def tampering_attempts_wait(timeout: float = 10.0) -> None:
    """Wait for the attempts still being written apart (tests, a command's end)."""
    for worker in list(_pending):
        worker.join(timeout)
