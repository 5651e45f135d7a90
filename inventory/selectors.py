"""Stock reads shared by the API, the POS, the admin and the workers.

``available = on_hand − reserved − safety``, where reservations past their time no
longer count even before the expiry task has released them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import (
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Now

from inventory.models import Location, Reservation, StockLevel

_DUE = (
    Reservation.objects.filter(
        variant_id=OuterRef("variant_id"),
        location_id=OuterRef("location_id"),
        status=Reservation.Status.ACTIVE,
        expires_at__lte=Now(),
    )
    .order_by()
    .values("variant_id")
    .annotate(total=Sum("quantity"))
    .values("total")
)
# Units still held by reservations that have not run out of time.
RESERVED_NOW = F("reserved") - Coalesce(Subquery(_DUE, output_field=IntegerField()), Value(0))
AVAILABLE = Greatest(F("on_hand") - RESERVED_NOW - F("safety"), Value(0))


def levels_with_availability(queryset: QuerySet[StockLevel] | None = None) -> QuerySet[StockLevel]:
    """Stock levels annotated with ``reserved_now`` and ``available_now``."""
    queryset = StockLevel.objects.all() if queryset is None else queryset
    return queryset.annotate(reserved_now=RESERVED_NOW, available_now=AVAILABLE)


def stock_at_locations(*, variant_id: int) -> list[StockLevel]:
    """Every active location's level for one variant (the POS "where else is it?")."""
    return list(
        levels_with_availability(
            StockLevel.objects.filter(variant_id=variant_id, location__is_active=True)
        )
        .select_related("location")
        .order_by("location__kind", "location__name")
    )


def stock_level(*, variant_id: int, location_id: int) -> StockLevel | None:
    return (
        levels_with_availability(
            StockLevel.objects.filter(variant_id=variant_id, location_id=location_id)
        )
        .select_related("location")
        .first()
    )


def available_by_level(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """{(variant_id, location_id): level with available_now / reserved_now} in one query."""
    pairs = list(pairs)
    if not pairs:
        return {}
    variant_ids = {v for v, _ in pairs}
    location_ids = {loc for _, loc in pairs}
    levels = levels_with_availability(
        StockLevel.objects.filter(variant_id__in=variant_ids, location_id__in=location_ids)
    )
    wanted = set(pairs)
    return {
        (level.variant_id, level.location_id): level
        for level in levels
        if (level.variant_id, level.location_id) in wanted
    }


_LEVEL = StockLevel._meta.db_table
_RESERVATION = Reservation._meta.db_table

# What a till may sell of each variant at one location: on hand less RESERVED_NOW (the
# safety stock may go: the customer holds the item). Written out: the till's search asks
# it on every keystroke, and compiling the ORM's annotated version cost more than running it.
_SELLABLE_HERE = f"""
    SELECT level.variant_id,
           level.on_hand - (level.reserved - coalesce((
               SELECT sum(due.quantity) FROM {_RESERVATION} due
                WHERE due.variant_id = level.variant_id
                  AND due.location_id = level.location_id
                  AND due.status = %s AND due.expires_at <= statement_timestamp()
           ), 0))
      FROM {_LEVEL} level
     WHERE level.location_id = %s AND level.variant_id = ANY(%s::bigint[])
"""  # noqa: S608 - table names come from the models, values are parameters


def sellable_here(*, variant_ids: Iterable[int], location_id: int) -> dict[int, int]:
    """{variant_id: on hand less what is reserved now} at one location, in one query
    (variants without a level there are missing: nothing to sell)."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SELLABLE_HERE, [Reservation.Status.ACTIVE, location_id, variant_ids])
        return dict(cursor.fetchall())


# What a screen shows of each level, as text, hashed in id order: the figures, with
# reserved counted as RESERVED_NOW counts it (units of reservations past their time are
# free, whether or not the expiry task has run), and the time of the last write.
# Written out rather than built by the ORM: compiling the ORM's version of it took ten
# times longer than running it, on a query polled every second by every open screen.
_FINGERPRINT = f"""
    SELECT md5(coalesce(string_agg(concat_ws(':',
               level.id, level.on_hand,
               level.reserved - coalesce((
                   SELECT sum(due.quantity) FROM {_RESERVATION} due
                    WHERE due.variant_id = level.variant_id
                      AND due.location_id = level.location_id
                      AND due.status = %s AND due.expires_at <= statement_timestamp()
               ), 0),
               level.incoming, level.safety, level.updated_at
           ), ',' ORDER BY level.id), ''))
      FROM {_LEVEL} level
     WHERE {{where}}
"""  # noqa: S608 - table names come from the models, values are parameters


def stock_fingerprint(
    *,
    variant_ids: Iterable[int] | None = None,
    location_ids: Iterable[int] | None = None,
    level_ids: Iterable[int] | None = None,
) -> str:
    """A short digest of the stock levels a live screen shows, in one indexed query:
    it changes whenever anything the screen shows of them changes, and only then (give
    variant ids, optionally location ids, or the ids of the levels shown).

    Live screens poll with the digest they were rendered with and are answered "no
    change" while it stays the same. It is a hash of the figures themselves, not
    ``max(updated_at)`` and sums: sums cancel out (a transfer between two locations on
    the same screen leaves them unchanged), ``updated_at`` is the *start* time of the
    writing transaction, so one that commits late can carry an older time than the
    newest row, and not every writer sets it (``stock_safety_set``). ``reserved`` is
    counted as reads count it: the digest changes the moment a reservation runs out of
    time, before the expiry task releases it. New levels change it too.

    Take it *before* reading the figures to render: a change committed in between then
    costs one more render, never a missed one.
    """
    if variant_ids is None and level_ids is None:
        raise TypeError("stock_fingerprint needs variant_ids or level_ids")
    where, params = [], [Reservation.Status.ACTIVE.value]
    for column, ids in [
        ("variant_id", variant_ids),
        ("location_id", location_ids),
        ("id", level_ids),
    ]:
        if ids is not None:
            where.append(f"level.{column} = ANY(%s::bigint[])")
            params.append([int(i) for i in ids])
    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT.format(where=" AND ".join(where)), params)
        return cursor.fetchone()[0]


def staff_location_ids(user) -> frozenset[int] | None:
    """The locations a member of staff sees and acts for: ``None`` for head office (the
    ``inventory.all_locations`` permission, superusers included) meaning every one; else
    the stores and warehouses they are staff of (``Location.staff``), possibly none.
    Anyone who is not a signed-in Django user (a channel key, a customer) has none.
    Remembered on the user object for the rest of the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "_meta"):
        return frozenset()
    cached = getattr(user, "_unicommerce_location_ids", False)
    if cached is not False:
        return cached
    if user.has_perm("inventory.all_locations"):
        ids = None
    else:
        ids = frozenset(Location.objects.filter(staff=user).values_list("pk", flat=True))
    user._unicommerce_location_ids = ids
    return ids


def staff_acts_at(user, location_id: int | None) -> bool:
    """May this member of staff act at this location (head office: anywhere)?"""
    ids = staff_location_ids(user)
    return ids is None or (location_id is not None and location_id in ids)
