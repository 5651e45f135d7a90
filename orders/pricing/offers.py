"""What the engine is given besides the lines: the offers that apply to a cart in its
context (channel, store, customer, now), the voucher codes entered on it and why each one
may not apply, and the seller's manual discounts.

Three written-out queries whatever the number of promotions (cart reads run this, see
bench/cart_read.py), and a fourth, the categories' ancestors, only when an offer targets
a category: the automatic promotions and the campaigns of the cart's codes with their
targets as arrays; the cart's codes with each limit's state; the manual discounts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.db import connection

from catalog.models import Category
from customers.models import Customer
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from orders.models import CartDiscount, CartVoucher
from orders.pricing.engine import ManualDiscount, Offer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PricingContext:
    """Where and for whom a cart is priced: the channel, the till's store (None off a
    till), the customer (None: anonymous) and the moment."""

    channel_id: int
    location_id: int | None
    customer_id: int | None
    now: datetime


@dataclass(frozen=True)
class CartCode:
    """A voucher code entered on the cart; ``refusal`` says why it cannot apply now
    (checked again under lock when the order is placed), None when it may."""

    voucher_id: int
    code: str
    promotion_id: int
    refusal: str | None


def _through(field: str) -> tuple[str, str]:
    """The M2M table of ``Promotion.<field>`` and its column pointing at the target."""
    through = Promotion._meta.get_field(field).remote_field.through
    target = next(
        f.column
        for f in through._meta.get_fields()
        if getattr(f, "column", None) and f.column not in ("id", "promotion_id")
    )
    return through._meta.db_table, target


def _array(field: str) -> str:
    table, column = _through(field)
    return f"ARRAY(SELECT {column} FROM {table} t WHERE t.promotion_id = p.id)"  # noqa: S608


_TARGETS = ("products", "categories", "variants", "channels", "locations")


@cache
def _promotions_sql() -> str:
    arrays = ", ".join(_array(name) for name in _TARGETS)
    return f"""
    SELECT p.id, p.name, p.stage, p.reward, p.value, p.stackable, p.priority,
           p.min_subtotal, p.buy_quantity, p.get_quantity, p.free_variant_id,
           p.requires_code, p.segments, {arrays},
           (SELECT c.rfm_segment FROM {Customer._meta.db_table} c WHERE c.id = %(customer)s)
      FROM {Promotion._meta.db_table} p
     WHERE p.is_active
       AND (p.starts_at IS NULL OR p.starts_at <= %(now)s)
       AND (p.ends_at IS NULL OR p.ends_at > %(now)s)
       AND (NOT p.requires_code OR p.id IN (
            SELECT vc.promotion_id FROM {CartVoucher._meta.db_table} cv
              JOIN {VoucherCode._meta.db_table} vc ON vc.id = cv.voucher_id
             WHERE cv.cart_id = %(cart)s))
     ORDER BY p.id
    """  # noqa: S608 - table names come from the models, values are parameters


@cache
def _codes_sql() -> str:
    return f"""
    SELECT cv.voucher_id, vc.code, vc.is_active, vc.max_uses, vc.used_count,
           p.id, p.is_active, p.starts_at, p.ends_at, p.usage_limit, p.used_count,
           p.per_customer_limit, p.segments, {_array("channels")}, {_array("locations")},
           (SELECT count(*) FROM {VoucherRedemption._meta.db_table} r
             WHERE r.promotion_id = p.id AND r.customer_id = %(customer)s
               AND r.released_at IS NULL),
           (SELECT c.rfm_segment FROM {Customer._meta.db_table} c WHERE c.id = %(customer)s)
      FROM {CartVoucher._meta.db_table} cv
      JOIN {VoucherCode._meta.db_table} vc ON vc.id = cv.voucher_id
      JOIN {Promotion._meta.db_table} p ON p.id = vc.promotion_id
     WHERE cv.cart_id = %(cart)s
     ORDER BY cv.added_at, cv.id
    """  # noqa: S608 - table names come from the models, values are parameters


_MANUAL = f"""
    SELECT id, line_id, kind, value, reason FROM {CartDiscount._meta.db_table}
     WHERE cart_id = %s ORDER BY line_id NULLS LAST, id
"""  # noqa: S608 - table names come from the models, values are parameters

_ANCESTORS = f"""
    WITH RECURSIVE up(leaf, id, parent_id) AS (
        SELECT c.id, c.id, c.parent_id FROM {Category._meta.db_table} c WHERE c.id = ANY(%s)
        UNION
        SELECT up.leaf, c.id, c.parent_id FROM {Category._meta.db_table} c
          JOIN up ON c.id = up.parent_id
    )
    SELECT leaf, array_agg(id) FROM up GROUP BY leaf
"""  # noqa: S608 - table names come from the models, values are parameters


def voucher_refusal(
    *,
    code_active: bool,
    code_max_uses: int | None,
    code_used: int,
    campaign: dict,
    context: PricingContext,
    customer_uses: int,
    segment: str,
) -> str | None:
    """Why a code gives nothing in ``context`` (an error code of docs/loyalty.md), or
    None. ``campaign`` holds the promotion's is_active, starts_at, ends_at, usage_limit,
    used_count, per_customer_limit, segments, channels and locations."""
    now, limit = context.now, campaign["usage_limit"]
    if not (code_active and campaign["is_active"]):
        return "voucher_inactive"
    if campaign["starts_at"] is not None and campaign["starts_at"] > now:
        return "voucher_not_started"
    if campaign["ends_at"] is not None and campaign["ends_at"] <= now:
        return "voucher_expired"
    if (limit is not None and campaign["used_count"] >= limit) or (
        code_max_uses is not None and code_used >= code_max_uses
    ):
        return "voucher_exhausted"
    per_customer = campaign["per_customer_limit"]
    if per_customer is not None and context.customer_id is None:
        return "voucher_needs_customer"
    if per_customer is not None and customer_uses >= per_customer:
        return "voucher_customer_limit"
    if campaign["channels"] and context.channel_id not in campaign["channels"]:
        return "voucher_other_channel"
    if campaign["locations"] and context.location_id not in campaign["locations"]:
        return "voucher_other_store"
    if campaign["segments"] and segment not in campaign["segments"]:
        return "voucher_segment"
    return None


def cart_codes(cart_id: int, context: PricingContext) -> list[CartCode]:
    """The codes entered on the cart, in the order they were entered, each with why it
    cannot apply (or None)."""
    with connection.cursor() as cursor:
        cursor.execute(_codes_sql(), {"cart": cart_id, "customer": context.customer_id})
        rows = cursor.fetchall()
    codes = []
    for row in rows:
        (voucher_id, code, code_active, max_uses, code_used, promotion_id) = row[:6]
        keys = ("is_active", "starts_at", "ends_at", "usage_limit", "used_count")
        campaign = dict(zip(keys, row[6:11], strict=True))
        campaign.update(per_customer_limit=row[11], segments=row[12])
        campaign.update(channels=set(row[13]), locations=set(row[14]))
        segment = row[16] or ""
        refusal = voucher_refusal(
            code_active=code_active,
            code_max_uses=max_uses,
            code_used=code_used,
            campaign=campaign,
            context=context,
            customer_uses=row[15],
            segment=segment,
        )
        codes.append(CartCode(voucher_id, code, promotion_id, refusal))
    return codes


def _applies_here(row: tuple, context: PricingContext) -> bool:
    channels, locations, segments, segment = set(row[16]), set(row[17]), row[12], row[18]
    if channels and context.channel_id not in channels:
        return False
    if locations and context.location_id not in locations:
        return False
    return not segments or segment in segments


def cart_offers(cart_id: int, context: PricingContext, codes: list[CartCode]) -> list[Offer]:
    """The engine's offers for this cart: every automatic promotion that applies in
    ``context``, and one offer per code entered that may apply (its campaign's rule, with
    the code)."""
    usable = {}
    for code in codes:
        if code.refusal is None:
            usable.setdefault(code.promotion_id, code.code)
    with connection.cursor() as cursor:
        cursor.execute(
            _promotions_sql(),
            {"now": context.now, "cart": cart_id, "customer": context.customer_id},
        )
        rows = cursor.fetchall()
    offers = []
    for row in rows:
        requires_code = row[11]
        if requires_code and row[0] not in usable:
            continue
        if not requires_code and not _applies_here(row, context):
            continue
        try:
            offer = _offer(row, usable.get(row[0]) if requires_code else None)
        except ValueError:
            # A rule the admin's form refuses but the database holds (written by hand):
            # it never prices anything, and cart reads keep working.
            logger.warning("promotion %s is not a valid offer: skipped", row[0])
            continue
        offers.append(offer)
    return offers


def _offer(row: tuple, code: str | None) -> Offer:
    return Offer(
        id=row[0],
        label=row[1],
        stage=row[2],
        reward=row[3],
        value=row[4],
        stackable=row[5],
        priority=row[6],
        min_subtotal=row[7],
        buy_quantity=row[8],
        get_quantity=row[9],
        free_variant_id=row[10],
        product_ids=frozenset(row[13]),
        category_ids=frozenset(row[14]),
        variant_ids=frozenset(row[15]),
        code=code,
    )


def cart_manual_discounts(cart_id: int) -> list[ManualDiscount]:
    with connection.cursor() as cursor:
        cursor.execute(_MANUAL, [cart_id])
        rows = cursor.fetchall()
    return [
        ManualDiscount(key=pk, line_key=line_id, kind=kind, value=Decimal(value), reason=reason)
        for pk, line_id, kind, value, reason in rows
    ]


def category_ancestors(category_ids: set[int]) -> dict[int, frozenset[int]]:
    """Each category with itself and all its ancestors, in one query."""
    if not category_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_ANCESTORS, [sorted(category_ids)])
        return {leaf: frozenset(ids) for leaf, ids in cursor.fetchall()}
