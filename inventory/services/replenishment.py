"""Replenishment: keep each watched (variant, location) between its rule's minimum and
maximum.

When ``available + incoming`` (units already on the way count) falls below the minimum,
the rule gets an open StockAlert and the variant is put on *the* draft purchase order of
its supplier for that location, for ``maximum − (available + incoming)`` units. When it
is back at or above the minimum, the rule's open alert is resolved.

The check runs for every ``stock.changed`` event inside the worker's outbox transaction,
so it is set-based: the same handful of statements whatever the number of variants, each
write an ``INSERT … ON CONFLICT`` on the partial unique constraints ("one open alert per
rule", "one draft per supplier and location", "one line per variant"). Running it twice
changes nothing, and concurrent checks never make a second draft or a second alert: the
constraint arbitrates inside one statement, so the worker's transaction is never aborted
by a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReplenishmentRule,
    StockAlert,
    Supplier,
    SupplierItem,
)
from inventory.selectors import available_by_level

_ORDER = PurchaseOrder._meta.db_table
_LINE = PurchaseOrderLine._meta.db_table
_ALERT = StockAlert._meta.db_table

SCAN_BATCH = 500


@dataclass
class _Shortage:
    """A rule below its minimum, and what to do about it."""

    rule: ReplenishmentRule
    available: int
    quantity: int  # maximum − (available + incoming)
    supplier_id: int | None = None
    unit_cost: Decimal | None = None
    note: str = ""
    order_id: int | None = None


def replenishment_check(*, variant_ids: Iterable[int], location_ids: Iterable[int]) -> int:
    """Check the rules of these variants at these locations (a ``stock.changed`` event's
    payload). Returns how many alerts were newly raised."""
    variant_ids = sorted({int(v) for v in variant_ids})
    location_ids = sorted({int(loc) for loc in location_ids})
    if not variant_ids or not location_ids:
        return 0
    return _rules_check(Q(variant_id__in=variant_ids, location_id__in=location_ids))


def replenishment_scan_all(*, batch_size: int = SCAN_BATCH) -> int:
    """Check every active rule, and every rule still holding an open alert (the periodic
    safety net behind the event-driven check). One short transaction per batch."""
    rule_ids = list(
        ReplenishmentRule.objects.filter(
            Q(is_active=True)
            | Exists(StockAlert.objects.filter(rule=OuterRef("pk"), resolved_at__isnull=True))
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    raised = 0
    for start in range(0, len(rule_ids), batch_size):
        raised += _rules_check(Q(pk__in=rule_ids[start : start + batch_size]))
    return raised


@transaction.atomic
def _rules_check(condition: Q) -> int:
    # The rules are locked in id order: two checks of the same rule take turns, the second
    # reading the levels, drafts and alerts the first committed (no deadlock: same order).
    rules = list(
        ReplenishmentRule.objects.select_for_update(of=("self",), no_key=True)
        .filter(condition)
        .select_related("supplier", "location")
        .order_by("id")
    )
    if not rules:
        return 0
    levels = available_by_level(pairs=[(rule.variant_id, rule.location_id) for rule in rules])
    shortages: list[_Shortage] = []
    fine: list[int] = []
    for rule in rules:
        level = levels.get((rule.variant_id, rule.location_id))
        available = level.available_now if level is not None else 0
        incoming = level.incoming if level is not None else 0
        watched = rule.is_active and rule.location.is_active
        if watched and available + incoming < rule.minimum:
            shortages.append(_Shortage(rule, available, rule.maximum - (available + incoming)))
        else:
            fine.append(rule.pk)
    if fine:
        StockAlert.objects.filter(rule_id__in=fine, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
    if not shortages:
        return 0
    _suppliers_choose(shortages)
    ordering = [s for s in shortages if s.supplier_id is not None]
    if ordering:
        _drafts_get_or_create(ordering)
        _lines_raise(ordering)
    return _alerts_raise(shortages)


def _suppliers_choose(shortages: list[_Shortage]) -> None:
    """The rule's supplier, else the variant's preferred one, with its unit cost; or a
    note saying why nothing can be ordered. One query."""
    items = SupplierItem.objects.filter(
        variant_id__in={s.rule.variant_id for s in shortages}
    ).select_related("supplier")
    preferred: dict[int, Supplier] = {}
    costs: dict[tuple[int, int], Decimal] = {}
    for item in items:
        costs[(item.supplier_id, item.variant_id)] = item.unit_cost_amount
        if item.is_preferred:
            preferred[item.variant_id] = item.supplier
    for shortage in shortages:
        rule = shortage.rule
        supplier = rule.supplier if rule.supplier_id else preferred.get(rule.variant_id)
        if supplier is None:
            shortage.note = _(
                "No supplier: set one on the rule or mark a preferred supplier for this "
                "variant. No purchase order drafted."
            )
        elif not supplier.is_active:
            shortage.note = _("Supplier %(supplier)s is inactive. No purchase order drafted.") % {
                "supplier": supplier.name
            }
        elif (supplier.pk, rule.variant_id) not in costs:
            shortage.note = _(
                "%(supplier)s has no price for this variant. No purchase order drafted."
            ) % {"supplier": supplier.name}
        else:
            shortage.supplier_id = supplier.pk
            shortage.unit_cost = costs[(supplier.pk, rule.variant_id)]


def _drafts_get_or_create(shortages: list[_Shortage]) -> None:
    """The one draft of each (supplier, location), created when missing, locked.

    A single statement arbitrated by the partial unique index "one draft per supplier
    and location": a draft inserted concurrently makes ours wait for its commit, then
    conflict; the no-op update locks the existing draft and returns it, so a buyer
    sending it at this very moment either goes first (it is no longer a draft, and a new
    one is made) or waits for us (and sends the line we add).
    """
    # The partial index's predicate is written as a literal: with server-side parameter
    # binding, ON CONFLICT cannot match it against a parameter.
    pairs = sorted({(s.supplier_id, s.rule.location_id) for s in shortages})
    currency = PurchaseOrder._meta.get_field("currency").get_default()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_ORDER} (supplier_id, location_id, status, currency, note, created_at)
            SELECT s, l, %s, %s, %s, now()
              FROM unnest(%s::bigint[], %s::bigint[]) AS t(s, l)
             ORDER BY s, l
            ON CONFLICT (supplier_id, location_id) WHERE status = 'draft'
            DO UPDATE SET note = {_ORDER}.note
            RETURNING id, supplier_id, location_id
            """,  # noqa: S608 - table names come from the models, values are parameters
            [
                PurchaseOrder.Status.DRAFT,
                currency,
                _("Drafted by replenishment."),
                [s for s, _l in pairs],
                [loc for _s, loc in pairs],
            ],
        )
        drafts = {(s, loc): order_id for order_id, s, loc in cursor.fetchall()}
    for shortage in shortages:
        shortage.order_id = drafts[(shortage.supplier_id, shortage.rule.location_id)]


def _lines_raise(shortages: list[_Shortage]) -> None:
    """Put each variant on its draft, or raise its line to the quantity needed (never
    lower it: the buyer may have ordered more on purpose). One statement."""
    rows = sorted((s.order_id, s.rule.variant_id, s.quantity, s.unit_cost) for s in shortages)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_LINE} (order_id, variant_id, quantity_ordered, quantity_received,
                                 unit_cost_amount)
            SELECT o, v, q, 0, c
              FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::numeric[]) AS t(o, v, q, c)
             ORDER BY o, v
            ON CONFLICT (order_id, variant_id)
            DO UPDATE SET quantity_ordered = EXCLUDED.quantity_ordered
             WHERE {_LINE}.quantity_ordered < EXCLUDED.quantity_ordered
            """,  # noqa: S608 - table names come from the models, values are parameters
            [
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ],
        )


def _alerts_raise(shortages: list[_Shortage]) -> int:
    """Open an alert for each rule that has none; keep an open one pointing at the
    current draft (and note). Returns how many were opened. One statement."""
    rows = sorted((s.rule.pk, s.available, s.order_id, s.note[:255]) for s in shortages)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_ALERT} (rule_id, available, purchase_order_id, note, created_at)
            SELECT r, a, p, n, now()
              FROM unnest(%s::bigint[], %s::int[], %s::bigint[], %s::text[]) AS t(r, a, p, n)
             ORDER BY r
            ON CONFLICT (rule_id) WHERE resolved_at IS NULL
            DO UPDATE SET purchase_order_id = EXCLUDED.purchase_order_id, note = EXCLUDED.note
             WHERE ({_ALERT}.purchase_order_id, {_ALERT}.note)
                   IS DISTINCT FROM (EXCLUDED.purchase_order_id, EXCLUDED.note)
            RETURNING xmax = 0
            """,  # noqa: S608 - table names come from the models, values are parameters
            [
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ],
        )
        return sum(1 for (inserted,) in cursor.fetchall() if inserted)
