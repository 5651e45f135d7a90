"""The pull side of the channel stock sync: sellable quantities changed since a cursor.

A channel that prefers polling to webhooks keeps the cursor of its last read and asks
for what changed after it. Each figure carries the id of the (top-level) transaction
that last changed it; a read returns only figures changed by transactions older than
every transaction of this database still running, so a transaction that commits late
can never slip in behind a cursor that has already moved past it. Each figure appears
once, at its latest change, with its version (the same as in the webhooks).

The horizon is read from ``pg_stat_activity`` for this database only (transaction ids
are server-wide, and ``pg_snapshot_xmin`` would make the feed wait for transactions of
other databases), in a statement before the one that reads the figures: every
transaction below the horizon has then ended, and the second statement's snapshot,
taken later, sees its changes. A long transaction of this database delays the feed
(never loses a change): keep ``idle_in_transaction_session_timeout`` set.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils.translation import gettext as _

from catalog.models import Variant
from inventory.models import ChannelStock
from unicommerce.exceptions import InvalidInput


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


@dataclass(frozen=True)
class StockChange:
    variant_id: int
    sku: str
    quantity: int
    version: int
    computed_at: datetime


@dataclass(frozen=True)
class ChangesPage:
    changes: list[StockChange]
    cursor: str  # where to continue (the one given back when nothing changed)
    has_more: bool


def _cursor_encode(xid: int, variant_id: int) -> str:
    return base64.urlsafe_b64encode(f"{xid}.{variant_id}".encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        xid, variant_id = (int(part) for part in raw.split("."))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidCursor(_("This cursor is not one we gave out."), cursor=cursor) from None
    if xid < 0 or variant_id < 0:
        raise InvalidCursor(_("This cursor is not one we gave out."), cursor=cursor)
    return xid, variant_id


def channel_stock_changes(*, channel_id: int, cursor: str = "", limit: int = 500) -> ChangesPage:
    """Figures of the channel changed after ``cursor`` (all of them without one), oldest
    change first, at most ``limit``."""
    xid, after_variant = _cursor_decode(cursor) if cursor else (0, 0)
    with connection.cursor() as db:
        db.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view of the running ones
        db.execute(
            """
            SELECT COALESCE(
                       min(backend_xid::text::bigint),
                       pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
              FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
            """
        )
        [(horizon,)] = db.fetchall()
        db.execute(
            f"""
            SELECT cs.changed_xid, cs.variant_id, v.sku, cs.quantity, cs.version, cs.computed_at
              FROM {ChannelStock._meta.db_table} cs
              JOIN {Variant._meta.db_table} v ON v.id = cs.variant_id
             WHERE cs.channel_id = %s
               AND (cs.changed_xid, cs.variant_id) > (%s, %s)
               AND cs.changed_xid < %s
               AND cs.version > 0
             ORDER BY cs.changed_xid, cs.variant_id
             LIMIT %s
            """,  # noqa: S608 - table names come from the models, values are parameters
            [channel_id, xid, after_variant, horizon, limit + 1],
        )
        rows = db.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [StockChange(*row[1:]) for row in rows]
    next_cursor = _cursor_encode(*rows[-1][:2]) if rows else (cursor or _cursor_encode(0, 0))
    return ChangesPage(changes=changes, cursor=next_cursor, has_more=has_more)
