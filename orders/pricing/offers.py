"""What the engine is given besides the lines: the offers that apply to a cart in its
context (channel, store, customer, now), the voucher codes entered on it and why each one
may not apply, and the seller's manual discounts.

One query each whatever the number of promotions (cart reads run this, see
bench/cart_read.py): the offers (``loyalty.selectors.promotions_active``, targets as
arrays); the cart's codes with each limit's state (only when the cart holds codes); the
manual discounts (only when it holds some); the categories' ancestors (only when an
offer targets a category).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.db import connection

from catalog.models import Category
from loyalty.exceptions import VoucherRefused
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.selectors import promotions_active
from loyalty.services.vouchers import VoucherScope, voucher_refusal
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
    segment: str  # the customer's RFM segment, "" when anonymous or not yet scored
    now: datetime


@dataclass(frozen=True)
class CartCode:
    """A voucher code entered on the cart; ``refusal`` says why it cannot apply now
    (checked again under lock when the order is placed), None when it may."""

    voucher_id: int
    code: str
    promotion_id: int
    refusal: VoucherRefused | None


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


@cache
def _codes_sql() -> str:
    """The cart's codes with their campaign's rule, limits and scopes, and the customer's
    uses of each campaign: everything ``voucher_refusal`` weighs, in one query."""
    channels, locations = _array("channels"), _array("locations")
    return f"""
    SELECT cv.voucher_id, vc.code, vc.is_active, vc.max_uses, vc.used_count,
           p.id, p.is_active, p.requires_code, p.starts_at, p.ends_at, p.usage_limit,
           p.used_count, p.per_customer_limit, p.segments, {channels}, {locations},
           (SELECT count(*) FROM {VoucherRedemption._meta.db_table} r
             WHERE r.promotion_id = p.id AND r.customer_id = %(customer)s
               AND r.released_at IS NULL)
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


def _code_refusal(row: tuple, context: PricingContext) -> VoucherRefused | None:
    voucher = VoucherCode(
        pk=row[0], code=row[1], is_active=row[2], max_uses=row[3], used_count=row[4]
    )
    promotion = Promotion(
        pk=row[5],
        is_active=row[6],
        requires_code=row[7],
        starts_at=row[8],
        ends_at=row[9],
        usage_limit=row[10],
        used_count=row[11],
        per_customer_limit=row[12],
        segments=row[13],
    )
    scope = VoucherScope(
        channel_id=context.channel_id,
        location_id=context.location_id,
        channel_ids=frozenset(row[14]),
        location_ids=frozenset(row[15]),
        segment=context.segment,
        customer_id=context.customer_id,
        customer_uses=row[16],
        now=context.now,
    )
    return voucher_refusal(voucher, promotion, scope)


def cart_codes(cart_id: int, context: PricingContext) -> list[CartCode]:
    """The codes entered on the cart, in the order they were entered, each with why it
    cannot apply now (or None), in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_codes_sql(), {"cart": cart_id, "customer": context.customer_id})
        rows = cursor.fetchall()
    return [CartCode(row[0], row[1], row[5], _code_refusal(row, context)) for row in rows]


def cart_offers(context: PricingContext, codes: list[CartCode]) -> list[Offer]:
    """The engine's offers: every automatic promotion that applies in ``context``, and
    one offer per campaign with a usable code entered (its rule, with that code)."""
    usable: dict[int, str] = {}
    for code in codes:
        if code.refusal is None:
            usable.setdefault(code.promotion_id, code.code)
    rows = promotions_active(
        channel_id=context.channel_id,
        location_id=context.location_id,
        segment=context.segment,
        codes=list(usable.values()),
        now=context.now,
    )
    offers = []
    for promotion in rows:
        if promotion.requires_code and promotion.pk not in usable:
            continue
        try:
            offers.append(_offer(promotion, usable.get(promotion.pk)))
        except ValueError:
            # A rule the admin's form refuses but the database holds (written by hand):
            # it never prices anything, and cart reads keep working.
            logger.warning("promotion %s is not a valid offer: skipped", promotion.pk)
    return offers


def _offer(promotion: Promotion, code: str | None) -> Offer:
    return Offer(
        id=promotion.pk,
        label=promotion.name,
        stage=promotion.stage,
        reward=promotion.reward,
        value=promotion.value,
        stackable=promotion.stackable,
        priority=promotion.priority,
        min_subtotal=promotion.min_subtotal,
        buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity,
        free_variant_id=promotion.free_variant_id,
        product_ids=frozenset(promotion.product_ids),
        category_ids=frozenset(promotion.category_ids),
        variant_ids=frozenset(promotion.variant_ids),
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
