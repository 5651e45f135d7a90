"""Stock operations. Every change of ``on_hand`` goes through here: one ledger row per
change, the cached level updated by a conditional statement in the same transaction, and
a ``stock.changed`` event in the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models.functions import Now

from catalog.models import Variant
from inventory import locks
from inventory.events import STOCK_CHANGED
from inventory.exceptions import InsufficientStock, InvalidQuantity, InvalidReason
from inventory.models import (
    ChannelStock,
    Location,
    Reservation,
    StockLevel,
    StockMovement,
    UnbookedSale,
)
from inventory.services.unbooked import (
    below_zero_alerts_raise,
    unbooked_note,
    unbooked_sales_use,
)
from unicommerce.channels.models import SalesChannel
from unicommerce.converters import count_or_none
from unicommerce.events.services import event_publish
from unicommerce.webhooks.services import WebhookItem, webhooks_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Reason = StockMovement.Reason


class ChannelFigure(NamedTuple):
    """A channel's sellable quantity of a variant, as just recomputed."""

    channel_id: int
    variant_id: int
    sku: str
    quantity: int
    version: int
    computed_at: datetime


def quantity_check(quantity: object) -> int:
    if (count := count_or_none(quantity)) is None:
        raise InvalidQuantity(quantity)
    return count


def _source_fields(source: models.Model | None) -> dict:
    if source is None:
        return {}
    return {
        "source_type": ContentType.objects.get_for_model(source, for_concrete_model=False),
        "source_id": str(source.pk),
    }


def ledger_write(
    changes: Sequence[locks.LevelChange],
    *,
    reason: str,
    user: AbstractBaseUser | None,
    source: models.Model | None,
    note: str,
    unbooked: Mapping[int, UnbookedSale] | None = None,
) -> list[StockMovement]:
    """One ledger row per change; a row sold under an unbooked-sale override points at
    it and says why in its note."""
    fields = _source_fields(source)
    unbooked = unbooked or {}
    movements = StockMovement.objects.bulk_create(
        StockMovement(
            variant_id=change.variant_id,
            location_id=change.location_id,
            quantity=change.quantity,
            on_hand_after=change.on_hand_after,
            reason=reason,
            note=(
                unbooked_note(unbooked[change.variant_id])
                if change.variant_id in unbooked
                else note[:255]
            ),
            created_by=user if user and user.is_authenticated else None,
            unbooked_sale=unbooked.get(change.variant_id),
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
    quantity_check(quantity)
    changes = locks.stock_levels_put([(variant_id, location_id, quantity)])
    return ledger_write(changes, reason=reason, user=user, source=source, note=note)[0]


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
    entries = [(v, loc, quantity_check(q)) for v, loc, q in entries]
    changes = locks.stock_levels_put(entries)
    if not changes:
        return []
    return ledger_write(changes, reason=reason, user=user, source=source, note=note)


ADJUSTMENT_REASONS = {Reason.ADJUSTMENT, Reason.DAMAGE, Reason.COUNT, Reason.RETURN}


@transaction.atomic
def stock_adjust(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    reason: str,
    user: AbstractBaseUser | None = None,
    source: models.Model | None = None,
    note: str = "",
) -> StockMovement:
    """Correct ``on_hand`` by a signed ``quantity`` (found, damaged, miscounted…).

    Taking out never touches units promised to reservations.
    """
    if reason not in ADJUSTMENT_REASONS:
        raise InvalidReason(reason, sorted(ADJUSTMENT_REASONS))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise InvalidQuantity(quantity)
    if quantity > 0:
        changes = locks.stock_levels_put([(variant_id, location_id, quantity)])
    else:
        changes = take_lines(
            location_id=location_id, lines=[(variant_id, -quantity)], keep_safety=False
        )
    return ledger_write(changes, reason=reason, user=user, source=source, note=note)[0]


def take_lines(
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    keep_safety: bool,
    allowances: Mapping[int, int] | None = None,
) -> list[locks.LevelChange]:
    """Take (variant_id, quantity) lines out of one location's on_hand, all or none.

    Each line is one conditional UPDATE, in variant order. When a line falls short,
    reservations of that level whose time is up are released and the line is tried once
    more: an expired reservation never blocks a sale, even before the expiry task runs.
    A variant with an allowance (``{variant_id: units}``: an approved unbooked sale) may
    take that many units beyond what is free, on_hand going below zero; the others never.
    Must run inside the caller's transaction.
    """
    allowances = allowances or {}
    changes = []
    for variant_id, quantity in locks.lock_order([(v, quantity_check(q)) for v, q in lines]):
        arguments = {"variant_id": variant_id, "location_id": location_id, "quantity": quantity}
        if variant_id in allowances:
            take, arguments["allowance"] = locks.stock_level_take_unbooked, allowances[variant_id]
        else:
            take, arguments["keep_safety"] = locks.stock_level_take, keep_safety
        change = take(**arguments)
        if change is None and locks.reservations_expire_due(
            variant_id=variant_id, location_id=location_id
        ):
            change = take(**arguments)
        if change is None:
            raise stock_insufficient(
                variant_id,
                location_id,
                quantity,
                keep_safety=keep_safety,
                allowance=allowances.get(variant_id, 0),
            )
        changes.append(change)
    return changes


TAKE_REASONS = {Reason.SALE, Reason.TRANSFER_OUT, Reason.DAMAGE, Reason.ADJUSTMENT, Reason.COUNT}


@transaction.atomic
def stock_take(
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    reason: str,
    user: AbstractBaseUser | None = None,
    source: models.Model | None = None,
    note: str = "",
    keep_safety: bool = False,
    unbooked_sale_ids: Mapping[int, int] | None = None,
) -> list[StockMovement]:
    """Take (variant_id, quantity) lines out of ``location_id``, all or none, never
    touching reserved units; one ledger row per line. ``unbooked_sale_ids``
    (``{variant_id: UnbookedSale id}``, sales only) lets those lines go below the books
    by the approved units (``inventory.services.unbooked``)."""
    if reason not in TAKE_REASONS:
        raise InvalidReason(reason, sorted(TAKE_REASONS))
    unbooked = {}
    if unbooked_sale_ids:
        if reason != Reason.SALE:
            raise InvalidReason(reason, [Reason.SALE])
        unbooked = unbooked_sales_use(sale_ids=unbooked_sale_ids, location_id=location_id)
    changes = take_lines(
        location_id=location_id,
        lines=lines,
        keep_safety=keep_safety,
        allowances={variant_id: sale.quantity for variant_id, sale in unbooked.items()},
    )
    movements = ledger_write(
        changes, reason=reason, user=user, source=source, note=note, unbooked=unbooked
    )
    if unbooked:
        below_zero_alerts_raise(changes)
    return movements


def stock_sell(
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    user: AbstractBaseUser | None = None,
    source: models.Model | None = None,
    keep_safety: bool = False,
    unbooked_sale_ids: Mapping[int, int] | None = None,
) -> list[StockMovement]:
    """Take the lines out of ``location_id`` for a sale: all or none.

    Concurrent sales of the last unit from any channel end with exactly one winner and
    never deadlock. A sale at the till (the customer holds the item) may dip into safety
    stock; channels that sell at a distance pass ``keep_safety=True``. At the till, a
    line with an approved unbooked sale (``unbooked_sale_ids``: ``{variant_id: id}``) may
    take stock below zero by the approved units, under the same locks.
    """
    return stock_take(
        location_id=location_id,
        lines=lines,
        reason=Reason.SALE,
        user=user,
        source=source,
        keep_safety=keep_safety,
        unbooked_sale_ids=unbooked_sale_ids,
    )


def stock_incoming_change(*, entries: Sequence[tuple[int, int, int]]) -> None:
    """Signed changes of ``incoming`` (variant_id, location_id, delta): what purchase
    orders and inbound transfers will bring. Not a ledger: nothing is on hand yet."""
    locks.stock_incoming_change(entries)


@transaction.atomic
def stock_safety_set(*, variant_id: int, location_id: int, safety: int) -> StockLevel:
    """Hold ``safety`` units back from the channels at this location (not a ledger: it
    changes what channels may sell, not what is on hand)."""
    if isinstance(safety, bool) or not isinstance(safety, int) or safety < 0:
        raise InvalidQuantity(safety)
    level, _created = StockLevel.objects.get_or_create(
        variant_id=variant_id, location_id=location_id
    )
    if level.safety != safety:
        StockLevel.objects.filter(pk=level.pk).update(safety=safety, updated_at=Now())
        level.safety = safety
        event_publish(
            topic=STOCK_CHANGED,
            payload={
                "variant_ids": [variant_id],
                "location_ids": [location_id],
                "reason": "safety",
            },
        )
    return level


def stock_insufficient(
    variant_id: int, location_id: int, requested: int, *, keep_safety: bool, allowance: int = 0
) -> InsufficientStock:
    level = StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).first()
    available = allowance
    if level is not None:
        if keep_safety and not allowance:
            available = level.available
        else:
            available += max(level.on_hand - level.reserved, 0)
    return InsufficientStock(
        sku=Variant.objects.only("sku").get(pk=variant_id).sku,
        location=Location.objects.only("name").get(pk=location_id).name,
        requested=requested,
        available=available,
    )


@transaction.atomic
def channel_stock_refresh(*, variant_ids: Sequence[int]) -> list[ChannelFigure]:
    """Recompute what every active channel may sell of these variants (the sum of
    ``available`` over the active locations that feed it, reservations past their time
    not counted), and tell the channels' webhook subscribers about every figure that
    changed, in this transaction. Returns the changed figures.
    """
    variant_ids = sorted(set(variant_ids))
    channel_ids = list(
        SalesChannel.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)
    )
    if not variant_ids or not channel_ids:
        return []
    locks.channel_stock_lock(variant_ids, channel_ids)
    table = ChannelStock._meta.db_table
    level = StockLevel._meta.db_table
    feeds = Location.channels.through._meta.db_table
    location = Location._meta.db_table
    reservation = Reservation._meta.db_table
    variant = Variant._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH fresh AS (
                SELECT c.id AS channel_id, v.id AS variant_id,
                       COALESCE(SUM(GREATEST(
                           sl.on_hand - sl.reserved + COALESCE(due.quantity, 0) - sl.safety, 0
                       )), 0) AS qty
                  FROM unnest(%s::bigint[]) AS c(id)
                 CROSS JOIN unnest(%s::bigint[]) AS v(id)
                  LEFT JOIN {feeds} f ON f.saleschannel_id = c.id
                  LEFT JOIN {location} loc ON loc.id = f.location_id AND loc.is_active
                  LEFT JOIN {level} sl ON sl.location_id = loc.id AND sl.variant_id = v.id
                  LEFT JOIN (
                        SELECT variant_id, location_id, SUM(quantity) AS quantity
                          FROM {reservation}
                         WHERE status = 'active' AND expires_at <= now()
                           AND variant_id = ANY(%s::bigint[])
                         GROUP BY variant_id, location_id
                  ) due ON due.variant_id = sl.variant_id AND due.location_id = sl.location_id
                 GROUP BY c.id, v.id
            )
            UPDATE {table} cs
               SET quantity = fresh.qty, version = cs.version + 1, computed_at = now(),
                   changed_xid = pg_current_xact_id()::text::bigint
              FROM fresh, {variant} vv
             WHERE cs.channel_id = fresh.channel_id AND cs.variant_id = fresh.variant_id
               AND vv.id = fresh.variant_id
               AND (cs.quantity IS DISTINCT FROM fresh.qty OR cs.version = 0)
            RETURNING cs.channel_id, cs.variant_id, vv.sku, cs.quantity, cs.version,
                      cs.computed_at
            """,  # noqa: S608 - table names come from the models, values are parameters
            [channel_ids, variant_ids, variant_ids],
        )
        figures = [ChannelFigure(*row) for row in cursor.fetchall()]
    channel_stock_announce(figures)
    return figures


def channel_stock_announce(figures: Sequence[ChannelFigure]) -> None:
    """Queue a ``stock.changed`` webhook per changed figure for the channel's subscribers
    (coalesced per variant: a burst becomes one delivery with the latest quantity)."""
    by_channel: dict[int, list[WebhookItem]] = {}
    for figure in figures:
        by_channel.setdefault(figure.channel_id, []).append(
            WebhookItem(
                key=f"variant:{figure.variant_id}",
                version=figure.version,
                data={
                    "sku": figure.sku,
                    "variant_id": figure.variant_id,
                    "quantity": figure.quantity,
                    "version": figure.version,
                    "computed_at": figure.computed_at.isoformat().replace("+00:00", "Z"),
                },
            )
        )
    for channel_id, items in by_channel.items():
        webhooks_publish(channel_id=channel_id, event_type=STOCK_CHANGED, items=items)
