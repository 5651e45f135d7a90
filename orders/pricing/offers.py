"""What the engine is given besides the lines: the offers that apply to a cart in its
context (channel, store, customer, now), the voucher codes entered on it and why each one
may not apply, and the seller's manual discounts.

One query each whatever the number of promotions (cart reads run this, see
bench/bench_cart_read.py): the offers (``loyalty.selectors.promotions_active``, targets
as arrays); the cart's codes with each limit's state (only when the cart holds codes);
the manual discounts (only when it holds some).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection

from loyalty.exceptions import VoucherRefused
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.selectors import ActivePromotion, promotion_ids_sql, promotions_active
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
    campaign: ActivePromotion  # its rule: the engine's offer when the code applies


@cache
def _codes_sql() -> str:
    """The cart's codes with their campaign's limits and scopes, the customer's uses of
    each campaign (everything ``voucher_refusal`` weighs) and the campaign's rule (the
    engine's offer), in one query."""
    channels, locations = promotion_ids_sql("channels"), promotion_ids_sql("locations")
    targets = ", ".join(promotion_ids_sql(name) for name in ("products", "categories", "variants"))
    return f"""
    SELECT cv.voucher_id, vc.code, vc.is_active, vc.max_uses, vc.used_count,
           p.id, p.is_active, p.requires_code, p.starts_at, p.ends_at, p.usage_limit,
           p.used_count, p.per_customer_limit, p.segments, {channels}, {locations},
           (SELECT count(*) FROM {VoucherRedemption._meta.db_table} r
             WHERE r.promotion_id = p.id AND r.customer_id = %(customer)s
               AND r.released_at IS NULL),
           p.name, p.stage, p.reward, p.value, p.stackable, p.priority, p.min_subtotal,
           p.buy_quantity, p.get_quantity, p.free_variant_id, {targets}
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
    return [
        CartCode(row[0], row[1], row[5], _code_refusal(row, context), _campaign(row))
        for row in rows
    ]


def _campaign(row: tuple) -> ActivePromotion:
    """The campaign of a row of ``_codes_sql``, as ``promotions_active`` gives rules."""
    rule = row[17:27]
    targets = [list(ids) for ids in row[27:30]]
    return ActivePromotion(row[5], *rule, True, *targets, list(row[14]), list(row[15]), [row[1]])


# Automatic promotions, per (channel, store, segment): the process's few-seconds memory
# (settings.PRICING_OFFERS_CACHE_SECONDS), so that busy cart reads do not each read and
# build the same hundreds of rules; checkout always reads them fresh.
_automatic_cache: dict[tuple, tuple[float, list[Offer]]] = {}


def _automatic_offers(context: PricingContext, *, fresh: bool) -> list[Offer]:
    seconds = settings.PRICING_OFFERS_CACHE_SECONDS
    key = (context.channel_id, context.location_id, context.segment)
    if not fresh and seconds > 0:
        cached = _automatic_cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    rows = promotions_active(
        channel_id=context.channel_id,
        location_id=context.location_id,
        segment=context.segment,
        now=context.now,
    )
    offers = [offer for row in rows if (offer := _offer(row, None)) is not None]
    if seconds > 0:
        if len(_automatic_cache) > 1000:
            _automatic_cache.clear()
        _automatic_cache[key] = (time.monotonic() + seconds, offers)
    return offers


def offers_forget() -> None:
    """Forget the automatic promotions this process remembers (the admin calls it when a
    promotion is saved; tests between cases)."""
    _automatic_cache.clear()


def cart_offers(
    context: PricingContext, codes: list[CartCode], *, fresh: bool = False
) -> list[Offer]:
    """The engine's offers: every automatic promotion that applies in ``context``, and
    one offer per campaign with a usable code entered (its rule, with that code; a
    second code of the same campaign gives nothing). ``fresh``: not from the process's
    memory (checkout)."""
    offers = list(_automatic_offers(context, fresh=fresh))
    seen: set[int] = set()
    for code in codes:
        if code.refusal is None and code.promotion_id not in seen:
            seen.add(code.promotion_id)
            offer = _offer(code.campaign, code.code)
            if offer is not None:
                offers.append(offer)
    return offers


def _offer(promotion: ActivePromotion, code: str | None) -> Offer | None:
    try:
        return _offer_of(promotion, code)
    except ValueError:
        # A rule the admin's form refuses but the database holds (written by hand): it
        # never prices anything, and cart reads keep working.
        logger.warning("promotion %s is not a valid offer: skipped", promotion.pk)
        return None


def _offer_of(promotion: ActivePromotion, code: str | None) -> Offer:
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
