"""Stock operations. Every change of ``on_hand`` goes through here: one ledger row per
change, the cached level updated by a conditional statement in the same transaction, and
a ``stock.changed`` event in the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from catalog.models import SalesChannel, Variant
from inventory import locks
from inventory.events import STOCK_CHANGED
from inventory.exceptions import InsufficientStock, InvalidQuantity
from inventory.models import ChannelStock, Location, StockLevel, StockMovement
from unicommerce.events.services import event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Reason = StockMovement.Reason


def _check_quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(quantity)
    return quantity


def _source_fields(source: models.Model | None) -> dict:
    if source is None:
        return {}
    return {
        "source_type": ContentType.objects.get_for_model(source, for_concrete_model=False),
        "source_id": str(source.pk),
    }


def _write_ledger(
    changes: Sequence[locks.LevelChange],
    *,
    reason: str,
    user: AbstractBaseUser | None,
    source: models.Model | None,
    note: str,
) -> list[StockMovement]:
    fields = _source_fields(source)
    movements = StockMovement.objects.bulk_create(
        StockMovement(
            variant_id=change.variant_id,
            location_id=change.location_id,
            quantity=change.quantity,
            on_hand_after=change.on_hand_after,
            reason=reason,
            note=note[:255],
            created_by=user if user and user.is_authenticated else None,
            **fields,
        )
        for change in changes
    )
    event_publish(
        topic=STOCK_CHANGED,
        payload={
            "variant_ids": sorted({c.variant_id for c in changes}),
            "location_ids": sorted({c.location_id for c in changes}),
            "reason": reason,
        },
    )
    return movements


@transaction.atomic
def stock_receive(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    user: AbstractBaseUser | None = None,
    reason: str = Reason.RECEIPT,
    source: models.Model | None = None,
    note: str = "",
) -> StockMovement:
    """Put ``quantity`` units into ``on_hand`` (receipt, return, transfer in, found in a count)."""
    _check_quantity(quantity)
    changes = locks.stock_levels_put([(variant_id, location_id, quantity)])
    return _write_ledger(changes, reason=reason, user=user, source=source, note=note)[0]


@transaction.atomic
def stock_receive_many(
    *,
    entries: Iterable[tuple[int, int, int]],
    user: AbstractBaseUser | None = None,
    reason: str = Reason.RECEIPT,
    source: models.Model | None = None,
    note: str = "",
) -> list[StockMovement]:
    """Several receipts in one statement: (variant_id, location_id, quantity) entries."""
    entries = [(v, loc, _check_quantity(q)) for v, loc, q in entries]
    changes = locks.stock_levels_put(entries)
    if not changes:
        return []
    return _write_ledger(changes, reason=reason, user=user, source=source, note=note)


@transaction.atomic
def stock_sell(
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    user: AbstractBaseUser | None = None,
    source: models.Model | None = None,
    keep_safety: bool = False,
) -> list[StockMovement]:
    """Take the (variant_id, quantity) lines out of ``location_id`` for a sale: all or none.

    Each line is a conditional UPDATE, run in variant order, so concurrent sales of the
    last unit from any channel end with exactly one winner and never deadlock. A sale at
    the till (the customer holds the item) may dip into safety stock; channels that sell
    at a distance pass ``keep_safety=True``.
    """
    ordered = locks.lock_order([(v, _check_quantity(q)) for v, q in lines])
    changes = []
    for variant_id, quantity in ordered:
        change = locks.stock_level_take(
            variant_id=variant_id,
            location_id=location_id,
            quantity=quantity,
            keep_safety=keep_safety,
        )
        if change is None:
            raise _insufficient(variant_id, location_id, quantity, keep_safety=keep_safety)
        changes.append(change)
    return _write_ledger(changes, reason=Reason.SALE, user=user, source=source, note="")


def _insufficient(
    variant_id: int, location_id: int, requested: int, *, keep_safety: bool
) -> InsufficientStock:
    level = StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).first()
    available = 0
    if level is not None:
        available = level.available if keep_safety else max(level.on_hand - level.reserved, 0)
    return InsufficientStock(
        sku=Variant.objects.only("sku").get(pk=variant_id).sku,
        location=Location.objects.only("name").get(pk=location_id).name,
        requested=requested,
        available=available,
    )


@transaction.atomic
def channel_stock_refresh(*, variant_ids: Sequence[int]) -> int:
    """Recompute what every active channel may sell of these variants (the sum of
    ``available`` over the active locations that feed it). Returns how many figures changed.
    """
    variant_ids = sorted(set(variant_ids))
    channel_ids = list(
        SalesChannel.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)
    )
    if not variant_ids or not channel_ids:
        return 0
    locks.channel_stock_lock(variant_ids, channel_ids)
    table = ChannelStock._meta.db_table
    level = StockLevel._meta.db_table
    feeds = Location.channels.through._meta.db_table
    location = Location._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH fresh AS (
                SELECT c.id AS channel_id, v.id AS variant_id,
                       COALESCE(SUM(GREATEST(sl.on_hand - sl.reserved - sl.safety, 0)), 0) AS qty
                  FROM unnest(%s::bigint[]) AS c(id)
                 CROSS JOIN unnest(%s::bigint[]) AS v(id)
                  LEFT JOIN {feeds} f ON f.saleschannel_id = c.id
                  LEFT JOIN {location} loc ON loc.id = f.location_id AND loc.is_active
                  LEFT JOIN {level} sl ON sl.location_id = loc.id AND sl.variant_id = v.id
                 GROUP BY c.id, v.id
            )
            UPDATE {table} cs
               SET quantity = fresh.qty, version = cs.version + 1, computed_at = now()
              FROM fresh
             WHERE cs.channel_id = fresh.channel_id AND cs.variant_id = fresh.variant_id
               AND (cs.quantity IS DISTINCT FROM fresh.qty OR cs.version = 0)
            """,  # noqa: S608 - table names come from the models, values are parameters
            [channel_ids, variant_ids],
        )
        return cursor.rowcount
