"""Cart pricing: what a cart costs now, line by line, after its discounts, with its VAT.

Prices are never stored on a cart: ``cart_price`` recomputes them on every read from
today's prices (the channel's own price when one is set, else the variant's), the
promotions that apply, the voucher codes entered and the seller's manual discounts, with
the pure engine (``orders.pricing.engine``; the rules in docs/pricing.md). Every face
prices through it: the API's cart views, the till, checkout (which stores the result on
the order lines, so an order never changes price afterwards).

Queries: the lines with their categories' ancestors (one), the offers (one), and the codes
and the manual discounts (one each, only when the cart holds some): four at most,
whatever the number of lines or promotions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from catalog.models import Category, ChannelPrice, Product, Variant
from customers.models import Customer
from inventory.models import Location
from loyalty.exceptions import (
    VoucherBelowMinimum,
    VoucherNothingEligible,
    VoucherNotStackable,
    VoucherRefused,
    VoucherSameCampaign,
)
from orders.models import Cart, CartDiscount, CartLine, CartVoucher
from orders.pricing.engine import (
    BELOW_MINIMUM,
    NO_ELIGIBLE_LINE,
    NOT_STACKABLE,
    AppliedDiscount,
    LineInput,
    Pricing,
    VatRow,
    price,
)
from orders.pricing.offers import (
    CartCode,
    PricingContext,
    cart_codes,
    cart_manual_discounts,
    cart_offers,
)
from unicommerce.channels.models import SalesChannel
from unicommerce.money import minor_unit


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_amount: Decimal  # the list price per unit (channel price or variant price)
    total_amount: Decimal  # what the line costs after its discounts, VAT included
    vat_rate: Decimal
    discount_amount: Decimal = Decimal("0.00")
    discounts: tuple[AppliedDiscount, ...] = ()
    vat_amount: Decimal = Decimal("0.00")
    sale_unit_price: Decimal | None = None  # after catalogue promotions, when they apply

    @property
    def subtotal_amount(self) -> Decimal:
        return self.total_amount + self.discount_amount


@dataclass(frozen=True)
class VoucherState:
    """A code entered on the cart and what it does now: the amount it takes off, or why
    it gives nothing (``refusal``: the error checkout would raise)."""

    code: str
    voucher_id: int
    promotion_id: int
    amount: Decimal
    refusal: VoucherRefused | None = None  # the error, with its code and message


@dataclass(frozen=True)
class CartPricing:
    currency: str
    lines: list[PricedLine]
    total_amount: Decimal
    vat_amounts: dict[Decimal, Decimal] = field(default_factory=dict)
    subtotal_amount: Decimal | None = None
    discount_amount: Decimal = Decimal("0.00")
    vat: tuple[VatRow, ...] = ()
    vouchers: tuple[VoucherState, ...] = ()
    offers: tuple = ()  # the engine's AppliedOffer rows: every offer that changed something

    @property
    def item_count(self) -> int:
        return sum(p.line.quantity for p in self.lines)

    @property
    def promotions(self) -> tuple:
        """Automatic promotions applied (vouchers are in ``vouchers``)."""
        return tuple(offer for offer in self.offers if offer.code is None)


_PRICED_LINES = f"""
    SELECT l.id, l.variant_id, l.quantity, l.fulfilment, l.location_id, l.added_at,
           v.product_id, v.sku, v.attributes, v.price_amount, v.currency, v.is_active,
           p.name, p.vat_rate, p.category_id, p.gift_card,
           loc.code, loc.name, loc.kind, loc.is_active,
           cp.price_amount,
           ARRAY(WITH RECURSIVE up(id, parent_id) AS (
                     SELECT c.id, c.parent_id FROM {Category._meta.db_table} c
                      WHERE c.id = p.category_id
                     UNION
                     SELECT c.id, c.parent_id FROM {Category._meta.db_table} c
                       JOIN up ON c.id = up.parent_id)
                 SELECT id FROM up),
           EXISTS (SELECT 1 FROM {CartVoucher._meta.db_table} x WHERE x.cart_id = l.cart_id),
           EXISTS (SELECT 1 FROM {CartDiscount._meta.db_table} x WHERE x.cart_id = l.cart_id),
           (SELECT c.rfm_segment FROM {Customer._meta.db_table} c
              JOIN {Cart._meta.db_table} k ON k.customer_id = c.id WHERE k.id = l.cart_id)
      FROM {CartLine._meta.db_table} l
      JOIN {Variant._meta.db_table} v ON v.id = l.variant_id
      JOIN {Product._meta.db_table} p ON p.id = v.product_id
      LEFT JOIN {Location._meta.db_table} loc ON loc.id = l.location_id
      LEFT JOIN {ChannelPrice._meta.db_table} cp
             ON cp.variant_id = l.variant_id AND cp.channel_id = %s
     WHERE l.cart_id = %s
     ORDER BY l.added_at, l.id
"""  # noqa: S608 - table names come from the models, values are parameters


@dataclass(frozen=True)
class LinesExtra:
    has_codes: bool
    has_manual: bool
    segment: str


def _line_of(cart: Cart, row: tuple) -> CartLine:
    """A cart line with its variant, product and location, from a row of
    ``_PRICED_LINES``."""
    (line_id, variant_id, quantity, fulfilment, location_id, added_at) = row[:6]
    (product_id, sku, attributes, price_amount, currency, is_active) = row[6:12]
    (product_name, vat_rate, category_id, gift_card) = row[12:16]
    product = Product.from_db(
        "default",
        # from_db takes the values in the model's field order
        ["id", "name", "category_id", "vat_rate", "gift_card"],
        [product_id, product_name, category_id, vat_rate, gift_card],
    )
    if isinstance(attributes, str):
        attributes = json.loads(attributes)
    variant = Variant.from_db(
        "default",
        ["id", "product_id", "sku", "attributes", "price_amount", "currency", "is_active"],
        [variant_id, product_id, sku, attributes, price_amount, currency, is_active],
    )
    # The product's category and all its ancestors: a promotion on a category covers its
    # subcategories.
    product.category_path = frozenset(row[21])
    variant.product = product
    line = CartLine.from_db(
        "default",
        ["id", "cart_id", "variant_id", "quantity", "fulfilment", "location_id", "added_at"],
        [line_id, cart.pk, variant_id, quantity, fulfilment, location_id, added_at],
    )
    line.variant, line.cart = variant, cart
    line.location = None
    if location_id is not None:
        line.location = Location.from_db(
            "default", ["id", "code", "name", "kind", "is_active"], [location_id, *row[16:20]]
        )
    return line


def _lines_priced(
    cart: Cart, channel_id: int
) -> tuple[list[tuple[CartLine, Decimal | None]], LinesExtra]:
    """The cart's lines with their variant, product and location, and the channel's
    price when one is set: one written-out query (this runs on every cart read, and the
    ORM took longer to compile it than PostgreSQL to run it)."""
    with connection.cursor() as cursor:
        cursor.execute(_PRICED_LINES, [channel_id, cart.pk])
        rows = cursor.fetchall()
    found = [(_line_of(cart, row), row[20]) for row in rows]
    # Whether the cart holds codes or manual discounts, and its customer's segment (the
    # same on every row): carts without codes or manual discounts skip those queries.
    first = rows[0] if rows else (None, None, None)
    return found, LinesExtra(bool(first[-3]), bool(first[-2]), first[-1] or "")


def _line_input(line: CartLine, unit: Decimal) -> LineInput:
    """A cart line as the engine sees it. A gift card is never discounted; a
    multi-purpose one carries no VAT when sold (CGI art. 256 ter: VAT is due on what it
    buys)."""
    product = line.variant.product
    gift_card = product.gift_card
    return LineInput(
        key=line.pk,
        variant_id=line.variant_id,
        product_id=product.pk,
        category_ids=product.category_path,
        quantity=line.quantity,
        unit_price=unit,
        vat_rate=Decimal("0.0") if gift_card == "multi" else product.vat_rate,
        discountable=not gift_card,
    )


def cart_price(
    *,
    cart: Cart,
    channel: SalesChannel | None = None,
    location: Location | None = None,
    now: datetime | None = None,
    fresh: bool = False,
) -> CartPricing:
    """Price ``cart`` now, as sold on ``channel`` (default: the cart's) and, at a till, at
    ``location``'s store (store-only promotions and codes apply there only). ``fresh``:
    the automatic promotions read now, not from the process's few-seconds memory
    (checkout: the price an order is placed at)."""
    channel_id = channel.pk if channel is not None else cart.channel_id
    rows, extra = _lines_priced(cart, channel_id)
    if not rows:
        return CartPricing(cart.currency, [], Decimal("0.00"), subtotal_amount=Decimal("0.00"))
    context = PricingContext(
        channel_id=channel_id,
        location_id=location.pk if location is not None else None,
        customer_id=cart.customer_id,
        segment=extra.segment,
        now=now or timezone.now(),
    )
    codes = cart_codes(cart.pk, context) if extra.has_codes else []
    offers = cart_offers(context, codes, fresh=fresh)
    units = [cp if cp is not None else line.variant.price_amount for line, cp in rows]
    inputs = [_line_input(line, unit) for (line, _), unit in zip(rows, units, strict=True)]
    exponent = -minor_unit(cart.currency).as_tuple().exponent
    manual = cart_manual_discounts(cart.pk) if extra.has_manual else []
    result = price(inputs, offers, manual, exponent=exponent)
    return _pricing(cart, rows, result, codes)


def _pricing(cart: Cart, rows: list, result: Pricing, codes: list[CartCode]) -> CartPricing:
    priced = []
    for (line, _), out in zip(rows, result.lines, strict=True):
        priced.append(
            PricedLine(
                line,
                out.list_unit_price,
                out.total,
                out.vat_rate,
                discount_amount=out.discount_amount,
                discounts=out.discounts,
                vat_amount=out.vat_amount,
                sale_unit_price=out.unit_price if out.unit_price != out.list_unit_price else None,
            )
        )
    return CartPricing(
        cart.currency,
        priced,
        result.total,
        vat_amounts={row.rate: row.vat for row in result.vat},
        subtotal_amount=result.subtotal,
        discount_amount=result.discount_amount,
        vat=result.vat,
        vouchers=_vouchers(codes, result, cart.currency),
        offers=result.applied,
    )


def _engine_refusal(code: str, refusal, currency: str) -> VoucherRefused:
    if refusal == BELOW_MINIMUM:
        return VoucherBelowMinimum(voucher=code, minimum=refusal.minimum, currency=currency)
    if refusal == NOT_STACKABLE:
        return VoucherNotStackable(voucher=code)
    if refusal == NO_ELIGIBLE_LINE:
        return VoucherNothingEligible(voucher=code)
    # Usable, not refused, yet given nothing: another code of its campaign took it.
    return VoucherSameCampaign(voucher=code)


def _vouchers(codes: list[CartCode], result: Pricing, currency: str) -> tuple:
    taken = {offer.code: offer.amount for offer in result.applied if offer.code}
    states = []
    for code in codes:
        amount = taken.get(code.code, Decimal("0.00"))
        refusal = code.refusal
        if refusal is None and not amount:
            refusal = _engine_refusal(code.code, result.refused.get(code.code), currency)
        states.append(VoucherState(code.code, code.voucher_id, code.promotion_id, amount, refusal))
    return tuple(states)
