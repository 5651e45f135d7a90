"""Cart pricing: what a cart costs today, line by line, with its VAT.

Prices are never stored on a cart: ``cart_price`` recomputes them from today's prices on
every read (the channel's own price when one is set, else the variant's), in one query.
This is the home of price computation: the promotions engine (issue 14) extends it here,
and every face (the API's cart views, the till, checkout) prices through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from catalog.models import ChannelPrice, Product, Variant
from inventory.models import Location
from orders.models import Cart, CartLine
from unicommerce.channels.models import SalesChannel
from unicommerce.money import money_round, vat_included_split


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_amount: Decimal
    total_amount: Decimal
    vat_rate: Decimal


@dataclass(frozen=True)
class CartPricing:
    currency: str
    lines: list[PricedLine]
    total_amount: Decimal
    vat_amounts: dict[Decimal, Decimal] = field(default_factory=dict)

    @property
    def item_count(self) -> int:
        return sum(p.line.quantity for p in self.lines)


_PRICED_LINES = f"""
    SELECT l.id, l.variant_id, l.quantity, l.fulfilment, l.location_id, l.added_at,
           v.product_id, v.sku, v.attributes, v.price_amount, v.currency, v.is_active,
           p.name, p.vat_rate,
           loc.code, loc.name, loc.kind, loc.is_active,
           cp.price_amount
      FROM {CartLine._meta.db_table} l
      JOIN {Variant._meta.db_table} v ON v.id = l.variant_id
      JOIN {Product._meta.db_table} p ON p.id = v.product_id
      LEFT JOIN {Location._meta.db_table} loc ON loc.id = l.location_id
      LEFT JOIN {ChannelPrice._meta.db_table} cp
             ON cp.variant_id = l.variant_id AND cp.channel_id = %s
     WHERE l.cart_id = %s
     ORDER BY l.added_at, l.id
"""  # noqa: S608 - table names come from the models, values are parameters


def _lines_priced(cart: Cart, channel_id: int) -> list[tuple[CartLine, Decimal | None]]:
    """The cart's lines with their variant, product and location, and the channel's
    price when one is set: one written-out query (this runs on every cart read, and the
    ORM took longer to compile it than PostgreSQL to run it)."""
    with connection.cursor() as cursor:
        cursor.execute(_PRICED_LINES, [channel_id, cart.pk])
        rows = cursor.fetchall()
    found = []
    for (
        line_id,
        variant_id,
        quantity,
        fulfilment,
        location_id,
        added_at,
        product_id,
        sku,
        attributes,
        price_amount,
        currency,
        is_active,
        product_name,
        vat_rate,
        location_code,
        location_name,
        location_kind,
        location_active,
        channel_price,
    ) in rows:
        product = Product.from_db(
            "default", ["id", "name", "vat_rate"], [product_id, product_name, vat_rate]
        )
        if isinstance(attributes, str):
            attributes = json.loads(attributes)
        variant = Variant.from_db(
            "default",
            ["id", "product_id", "sku", "attributes", "price_amount", "currency", "is_active"],
            [variant_id, product_id, sku, attributes, price_amount, currency, is_active],
        )
        variant.product = product
        line = CartLine.from_db(
            "default",
            ["id", "cart_id", "variant_id", "quantity", "fulfilment", "location_id", "added_at"],
            [line_id, cart.pk, variant_id, quantity, fulfilment, location_id, added_at],
        )
        line.variant, line.cart = variant, cart
        if location_id is None:
            line.location = None
        else:
            line.location = Location.from_db(
                "default",
                ["id", "code", "name", "kind", "is_active"],
                [location_id, location_code, location_name, location_kind, location_active],
            )
        found.append((line, channel_price))
    return found


def cart_price(*, cart: Cart, channel: SalesChannel | None = None) -> CartPricing:
    """Price a cart from today's prices (recomputed on every read, never cached), in one
    query. A price set on purpose for ``channel`` (default: the cart's) wins over the
    variant's price."""
    channel_id = channel.pk if channel is not None else cart.channel_id
    priced = []
    vat: dict[Decimal, Decimal] = {}
    for line, channel_price in _lines_priced(cart, channel_id):
        unit = channel_price if channel_price is not None else line.variant.price_amount
        total = money_round(unit * line.quantity, cart.currency)
        rate = line.variant.product.vat_rate
        priced.append(PricedLine(line, unit, total, rate))
        vat[rate] = vat.get(rate, Decimal(0)) + total
    total_amount = sum((p.total_amount for p in priced), Decimal("0.00"))
    vat_amounts = {
        rate: vat_included_split(gross, rate, cart.currency) for rate, gross in vat.items()
    }
    return CartPricing(cart.currency, priced, total_amount, vat_amounts)
