"""The only place that takes row locks on stock.

Every change of a quantity is a single conditional UPDATE (or upsert) that checks and
changes in one statement, so two buyers can never both take the last unit. Statements
that touch several rows run in (variant_id, location_id) order, so two transactions
lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from inventory.models import ChannelStock, Reservation, StockLevel
from unicommerce.events.services import EventInsert

_LEVEL = StockLevel._meta.db_table
_CHANNEL_STOCK = ChannelStock._meta.db_table


@dataclass(frozen=True)
class LevelChange:
    variant_id: int
    location_id: int
    quantity: int
    on_hand_after: int


def stock_levels_put(entries: Iterable[tuple[int, int, int]]) -> list[LevelChange]:
    """Add quantities to on_hand, creating missing levels; one statement, in lock order.

    ``entries`` are (variant_id, location_id, quantity > 0); duplicates are summed.
    """
    totals: dict[tuple[int, int], int] = {}
    for variant_id, location_id, quantity in entries:
        totals[(variant_id, location_id)] = totals.get((variant_id, location_id), 0) + quantity
    if not totals:
        return []
    keys = sorted(totals)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_LEVEL} (variant_id, location_id, on_hand, reserved, incoming, safety,
                                  updated_at)
            SELECT v, l, q, 0, 0, 0, now()
              FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS t(v, l, q)
             ORDER BY v, l
            ON CONFLICT (variant_id, location_id)
            DO UPDATE SET on_hand = {_LEVEL}.on_hand + EXCLUDED.on_hand, updated_at = now()
            RETURNING variant_id, location_id, on_hand
            """,  # noqa: S608 - table names come from the models, values are parameters
            [[k[0] for k in keys], [k[1] for k in keys], [totals[k] for k in keys]],
        )
        after = {(v, loc): on_hand for v, loc, on_hand in cursor.fetchall()}
    return [LevelChange(v, loc, totals[(v, loc)], after[(v, loc)]) for v, loc in keys]


def stock_level_take(
    *, variant_id: int, location_id: int, quantity: int, keep_safety: bool
) -> LevelChange | None:
    """Take ``quantity`` from on_hand if that much is unreserved (and, with
    ``keep_safety``, above the safety stock). None when it is not: nothing changed."""
    safety = " - safety" if keep_safety else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_LEVEL} SET on_hand = on_hand - %s, updated_at = now()
             WHERE variant_id = %s AND location_id = %s
               AND on_hand - reserved{safety} >= %s
            RETURNING on_hand
            """,  # noqa: S608 - table names come from the models, values are parameters
            [quantity, variant_id, location_id, quantity],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return LevelChange(variant_id, location_id, -quantity, row[0])


def stock_level_take_unbooked(
    *, variant_id: int, location_id: int, quantity: int, allowance: int
) -> LevelChange | None:
    """Take ``quantity`` from on_hand if what is free here (on hand less reserved, never
    counted below zero) plus ``allowance`` — the units an approved unbooked sale may sell
    beyond the books — covers it: on_hand may go below zero by up to ``allowance``, and
    never further. A level the books never had is created at zero first. None when it
    does not cover it: nothing changed. The caller has used the approval in this
    transaction (the stock trigger checks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_LEVEL} (variant_id, location_id, on_hand, reserved, incoming, safety,
                                  updated_at)
            VALUES (%s, %s, 0, 0, 0, 0, now())
            ON CONFLICT (variant_id, location_id) DO NOTHING
            """,  # noqa: S608 - table names come from the models, values are parameters
            [variant_id, location_id],
        )
        cursor.execute(
            f"""
            UPDATE {_LEVEL} SET on_hand = on_hand - %s, updated_at = now()
             WHERE variant_id = %s AND location_id = %s
               AND GREATEST(on_hand - reserved, 0) + %s >= %s
            RETURNING on_hand
            """,  # noqa: S608 - table names come from the models, values are parameters
            [quantity, variant_id, location_id, allowance, quantity],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return LevelChange(variant_id, location_id, -quantity, row[0])


def lock_order(lines: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """(variant_id, quantity) lines merged per variant and sorted in lock order."""
    merged: dict[int, int] = {}
    for variant_id, quantity in lines:
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    return sorted(merged.items())


def channel_stock_lock(variant_ids: Sequence[int], channel_ids: Sequence[int]) -> None:
    """Create and lock the channel-stock rows of these variants, in id order.

    The recomputation that follows starts after the locks are held, so under READ
    COMMITTED it sees every stock change committed by then: a slower worker can never
    overwrite a newer figure with an older one.
    """
    if not variant_ids or not channel_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_CHANNEL_STOCK} (channel_id, variant_id, quantity, version, computed_at)
            SELECT c, v, 0, 0, now()
              FROM unnest(%s::bigint[]) AS c CROSS JOIN unnest(%s::bigint[]) AS v
             ORDER BY c, v
            ON CONFLICT (channel_id, variant_id) DO NOTHING
            """,  # noqa: S608 - table names come from the models, values are parameters
            [list(channel_ids), list(variant_ids)],
        )
        cursor.execute(
            f"""
            SELECT id FROM {_CHANNEL_STOCK}
             WHERE variant_id = ANY(%s) AND channel_id = ANY(%s)
             ORDER BY channel_id, variant_id
               FOR UPDATE
            """,  # noqa: S608 - table names come from the models, values are parameters
            [list(variant_ids), list(channel_ids)],
        )
        cursor.fetchall()


def stock_level_reserve(
    *, variant_id: int, location_id: int, quantity: int, keep_safety: bool
) -> bool:
    """Promise ``quantity`` units if that many are available; False (nothing changed)
    otherwise."""
    safety = " - safety" if keep_safety else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_LEVEL} SET reserved = reserved + %s, updated_at = now()
             WHERE variant_id = %s AND location_id = %s
               AND on_hand - reserved{safety} >= %s
            """,  # noqa: S608 - table names come from the models, values are parameters
            [quantity, variant_id, location_id, quantity],
        )
        return cursor.rowcount == 1


def stock_level_unreserve(
    *, variant_id: int, location_id: int, quantity: int, take: bool
) -> int | None:
    """Give back ``quantity`` reserved units; with ``take`` they also leave on_hand (the
    reservation became a sale). Returns on_hand after, or None if fewer are reserved."""
    on_hand = "on_hand - %s" if take else "on_hand"
    params = [quantity] if take else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_LEVEL} SET reserved = reserved - %s, on_hand = {on_hand}, updated_at = now()
             WHERE variant_id = %s AND location_id = %s AND reserved >= %s
            RETURNING on_hand
            """,  # noqa: S608 - table names come from the models, values are parameters
            [quantity, *params, variant_id, location_id, quantity],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def reservations_expire_due(*, variant_id: int, location_id: int) -> int:
    """Release the reservations of one level whose time is up; returns the units freed.

    Locks the level first, then its reservations: the order every writer follows.
    """
    reservation = Reservation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_LEVEL} WHERE variant_id = %s AND location_id = %s FOR UPDATE",  # noqa: S608
            [variant_id, location_id],
        )
        if cursor.fetchone() is None:
            return 0
        cursor.execute(
            f"""
            WITH due AS (
                UPDATE {reservation} SET status = 'expired', ended_at = now()
                 WHERE variant_id = %s AND location_id = %s AND status = 'active'
                   AND expires_at <= now()
                RETURNING quantity
            )
            SELECT COALESCE(SUM(quantity), 0) FROM due
            """,  # noqa: S608 - table names come from the models, values are parameters
            [variant_id, location_id],
        )
        freed = cursor.fetchone()[0]
        if freed:
            cursor.execute(
                f"""
                UPDATE {_LEVEL} SET reserved = reserved - %s, updated_at = now()
                 WHERE variant_id = %s AND location_id = %s
                """,  # noqa: S608 - table names come from the models, values are parameters
                [freed, variant_id, location_id],
            )
    return int(freed)


def stock_incoming_change(entries: Iterable[tuple[int, int, int]]) -> None:
    """Add signed deltas to ``incoming`` (purchase orders sent or received, transfers
    shipped or received), creating missing levels, in lock order. The database refuses
    a negative result.

    Missing levels are created (and every level locked) first, then one UPDATE applies
    the deltas: INSERT … ON CONFLICT checks the constraints of the proposed row before
    it finds the existing one, so a negative delta cannot travel in its VALUES.
    """
    totals: dict[tuple[int, int], int] = {}
    for variant_id, location_id, delta in entries:
        totals[(variant_id, location_id)] = totals.get((variant_id, location_id), 0) + delta
    keys = [k for k in sorted(totals) if totals[k]]
    if not keys:
        return
    variants, locations = [k[0] for k in keys], [k[1] for k in keys]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_LEVEL} (variant_id, location_id, on_hand, reserved, incoming, safety,
                                  updated_at)
            SELECT v, l, 0, 0, 0, 0, now()
              FROM unnest(%s::bigint[], %s::bigint[]) AS t(v, l)
             ORDER BY v, l
            ON CONFLICT (variant_id, location_id) DO UPDATE SET updated_at = now()
            """,  # noqa: S608 - table names come from the models, values are parameters
            [variants, locations],
        )
        cursor.execute(
            f"""
            UPDATE {_LEVEL} AS sl SET incoming = sl.incoming + t.d, updated_at = now()
              FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS t(v, l, d)
             WHERE sl.variant_id = t.v AND sl.location_id = t.l
            """,  # noqa: S608 - table names come from the models, values are parameters
            [variants, locations, [totals[k] for k in keys]],
        )


def reservation_insert_and_reserve(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    keep_safety: bool,
    columns: dict,
    event: EventInsert,
) -> tuple[int, object] | None:
    """Take the units and, only if that worked, insert the reservation row and its outbox
    event: ONE statement, atomic on its own. Outside a transaction it commits at once, so
    the hot stock row is locked for one statement and nothing more. Returns (id,
    created_at), or None when too few units are available (then nothing was written).
    """
    reservation = Reservation._meta.db_table
    names = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(columns))
    safety = " - safety" if keep_safety else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH taken AS (
                UPDATE {_LEVEL} SET reserved = reserved + %s, updated_at = now()
                 WHERE variant_id = %s AND location_id = %s
                   AND on_hand - reserved{safety} >= %s
                RETURNING 1
            ), new_event AS (
                {event.into} SELECT {event.values} FROM taken
            )
            INSERT INTO {reservation} ({names}, created_at)
            SELECT {placeholders}, now() FROM taken
            RETURNING id, created_at
            """,  # noqa: S608 - table and column names come from the models
            [quantity, variant_id, location_id, quantity, *event.params, *columns.values()],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])
