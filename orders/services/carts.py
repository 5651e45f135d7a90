"""Unified carts: tokens, lines, pricing, identification and merging, cart events.

A cart is a server-side object opened by its unguessable token from any channel: the web
front end fills it, the POS opens the very same cart when the customer walks in. Every
write pushes ``expires_at`` forward (``CART_TTL_DAYS``) and records a ``CartEvent`` with
the channel that acted, in the same statement that checks the cart is still open: a
write racing a checkout either lands before it or fails with ``CartClosed``.
Prices and availability are never stored on a cart: ``cart_price`` and ``cart_view``
recompute them on every read, in a fixed number of queries.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from catalog.models import ChannelPrice, Product, SalesChannel, Variant
from customers.models import Customer
from customers.services import customer_identify
from inventory.exceptions import InvalidQuantity
from inventory.models import Location, Reservation, StockLevel
from orders.conf import cart_ttl
from orders.exceptions import (
    CartClosed,
    CartExpired,
    CartForeign,
    CartLineNotFound,
    CartNotFound,
    InvalidFulfilment,
)
from orders.models import Cart, CartEvent, CartLine, Fulfilment
from unicommerce.converters import count_or_none
from unicommerce.exceptions import InvalidInput
from unicommerce.money import money_round, vat_included_split

if TYPE_CHECKING:
    from datetime import datetime

Kind = CartEvent.Kind

# How many merges a token may be followed through (a merged cart's token keeps working).
_MAX_MERGE_HOPS = 5


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


_LEVELS = """
    SELECT sl.variant_id, sl.location_id, sl.on_hand,
           sl.reserved - COALESCE(due.quantity, 0) AS reserved_now,
           GREATEST(sl.on_hand - (sl.reserved - COALESCE(due.quantity, 0)) - sl.safety, 0)
               AS available_now,
           EXISTS (
               SELECT 1 FROM {feeds} f JOIN {channel} c ON c.id = f.saleschannel_id
                WHERE f.location_id = sl.location_id AND {fed}
           ) AS fed,
           loc.kind, loc.code, loc.name, loc.postal_code, loc.latitude, loc.longitude
      FROM {level} sl
      JOIN {location} loc ON loc.id = sl.location_id AND loc.is_active
      LEFT JOIN LATERAL (
            SELECT SUM(r.quantity) AS quantity FROM {reservation} r
             WHERE r.variant_id = sl.variant_id AND r.location_id = sl.location_id
               AND r.status = 'active' AND r.expires_at <= statement_timestamp()
      ) due ON true
     WHERE sl.variant_id = ANY(%(variants)s::bigint[])
       AND (sl.location_id = ANY(%(locations)s::bigint[])
            OR (%(with_fed)s AND loc.kind = ANY(%(kinds)s::text[]) AND EXISTS (
                SELECT 1 FROM {feeds} f JOIN {channel} c ON c.id = f.saleschannel_id
                 WHERE f.location_id = sl.location_id AND {fed})))
"""


def stock_levels_for(
    *,
    variant_ids: set[int] | list[int],
    location_ids: set[int] | list[int] = (),
    channel: SalesChannel,
    fed_kinds: list[str] | None = None,
    any_active_channel: bool = False,
) -> list[dict]:
    """In one query, the stock of these variants (``available_now`` and
    ``reserved_now`` counted as ``inventory.selectors`` counts them: reservations past
    their time hold nothing) at ``location_ids`` and, when ``fed_kinds`` is given, at
    every active location of those kinds feeding ``channel`` (with
    ``any_active_channel``: feeding any active channel). Each row says whether its
    location feeds (``fed``)."""
    fed = "c.is_active" if any_active_channel else "f.saleschannel_id = %(channel)s"
    sql = _LEVELS.format(
        feeds=Location.channels.through._meta.db_table,
        channel=SalesChannel._meta.db_table,
        level=StockLevel._meta.db_table,
        location=Location._meta.db_table,
        reservation=Reservation._meta.db_table,
        fed=fed,
    )
    params = {
        "variants": sorted(variant_ids),
        "locations": sorted(location_ids),
        "with_fed": fed_kinds is not None,
        "kinds": list(fed_kinds or []),
        "channel": channel.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    renamed = {"kind": "location__kind", "code": "location__code", "name": "location__name"}
    renamed |= {
        "postal_code": "location__postal_code",
        "latitude": "location__latitude",
        "longitude": "location__longitude",
    }
    keys = [renamed.get(name, name) for name in names]
    return [dict(zip(keys, row, strict=True)) for row in rows]


# --- reading a cart ------------------------------------------------------------------


def _expired(cart: Cart, now: datetime | None = None) -> bool:
    return (
        cart.status == Cart.Status.OPEN
        and cart.expires_at is not None
        and cart.expires_at <= (now or timezone.now())
    )


def _model_columns(model, alias: str) -> tuple[list[str], list]:
    fields = list(model._meta.concrete_fields)
    return [f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields], fields


def _model_from_row(model, fields: list, values) -> Any:
    """A model instance from a written-out query's columns, converted as the ORM would."""
    converted = []
    for model_field, value in zip(fields, values, strict=True):
        for converter in model_field.get_db_converters(connection):
            value = converter(value, model_field, connection)
        converted.append(value)
    return model.from_db("default", [f.attname for f in fields], converted)


_CART_COLUMNS, _CART_FIELDS = _model_columns(Cart, "cart")
_CHANNEL_COLUMNS, _CHANNEL_FIELDS = _model_columns(SalesChannel, "channel")
_CUSTOMER_COLUMNS, _CUSTOMER_FIELDS = _model_columns(Customer, "customer")
_CART_FETCH = f"""
    SELECT {", ".join(_CART_COLUMNS + _CHANNEL_COLUMNS + _CUSTOMER_COLUMNS)}
      FROM {Cart._meta.db_table} cart
      JOIN {SalesChannel._meta.db_table} channel ON channel.id = cart.channel_id
      LEFT JOIN {Customer._meta.db_table} customer ON customer.id = cart.customer_id
     WHERE cart.{{key}} = %s
"""  # noqa: S608 - table and column names come from the models


def _cart_fetch(key: str, value: object) -> Cart | None:
    """The cart with its channel and customer, by ``token`` or ``id``: a written-out
    query, because every cart call of the API starts here."""
    with connection.cursor() as cursor:
        cursor.execute(_CART_FETCH.format(key=key), [value])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = (len(_CART_FIELDS), len(_CART_FIELDS) + len(_CHANNEL_FIELDS))
    cart = _model_from_row(Cart, _CART_FIELDS, row[: ends[0]])
    cart.channel = _model_from_row(SalesChannel, _CHANNEL_FIELDS, row[ends[0] : ends[1]])
    customer = None
    if cart.customer_id is not None:
        customer = _model_from_row(Customer, _CUSTOMER_FIELDS, row[ends[1] :])
    cart.customer = customer
    return cart


def cart_get(
    *, token: str, channel: SalesChannel | None = None, customer: Customer | None = None
) -> Cart:
    """The cart with this token, as the caller may see it.

    A merged cart's token leads to the cart it was merged into. Unknown token:
    ``CartNotFound`` (404); expired: ``CartExpired`` (410); someone else's:
    ``CartForeign`` (403). A customer (``customer``) may open their own carts and
    anonymous ones; a channel (``channel``) its own carts and any cart owned by a
    customer (the unified cart: the store opens the customer's web cart); staff (neither
    given) any cart.
    """
    cart = _cart_fetch("token", token or "")
    if cart is None:
        raise CartNotFound()
    for _hop in range(_MAX_MERGE_HOPS):  # rare: one more query per merge followed
        if cart.status != Cart.Status.MERGED or cart.merged_into_id is None:
            break
        cart = _cart_fetch("id", cart.merged_into_id)
    if _expired(cart):
        raise CartExpired(cart.expires_at)
    if customer is not None:
        if cart.customer_id not in (None, customer.pk):
            raise CartForeign()
    elif channel is not None and cart.channel_id != channel.pk and cart.customer_id is None:
        raise CartForeign()
    return cart


@dataclass(frozen=True)
class LineView:
    """A priced line with what the channel can sell of it right now."""

    priced: PricedLine
    sellable: int  # the channel's sellable quantity (sum over the locations feeding it)
    at_location: int | None  # available at the chosen collect/ship location, if any

    @property
    def line(self) -> CartLine:
        return self.priced.line

    @property
    def is_available(self) -> bool:
        wanted = self.line.quantity
        if self.line.location_id is not None and self.line.fulfilment in (
            Fulfilment.COLLECT,
            Fulfilment.SHIP,
        ):
            return (self.at_location or 0) >= wanted
        return self.sellable >= wanted


@dataclass(frozen=True)
class CartView:
    cart: Cart
    channel: SalesChannel
    pricing: CartPricing
    lines: list[LineView]

    @property
    def is_available(self) -> bool:
        return all(line.is_available for line in self.lines)

    @property
    def identified(self) -> bool:
        return self.cart.customer_id is not None


def cart_view(*, cart: Cart, channel: SalesChannel | None = None) -> CartView:
    """The cart as ``channel`` (default: the cart's) sees it now: today's prices and,
    per line, the channel's sellable quantity and the quantity at the line's chosen
    location. Two queries whatever the number of lines (none for an empty cart)."""
    channel = channel or cart.channel
    pricing = cart_price(cart=cart, channel=channel) if _may_have_lines(cart) else None
    if pricing is None or not pricing.lines:
        empty = pricing or CartPricing(cart.currency, [], Decimal("0.00"))
        return CartView(cart, channel, empty, [])
    variant_ids = {p.line.variant_id for p in pricing.lines}
    location_ids = {p.line.location_id for p in pricing.lines if p.line.location_id}
    rows = stock_levels_for(
        variant_ids=variant_ids,
        location_ids=location_ids,
        channel=channel,
        fed_kinds=[kind for kind, _label in Location.Kind.choices],
    )
    sellable: dict[int, int] = {}
    at: dict[tuple[int, int], int] = {}
    for row in rows:
        variant_id, location_id = row["variant_id"], row["location_id"]
        available, fed = row["available_now"], row["fed"]
        if fed:
            sellable[variant_id] = sellable.get(variant_id, 0) + available
        at[(variant_id, location_id)] = available
    lines = [
        LineView(
            p,
            sellable.get(p.line.variant_id, 0),
            at.get((p.line.variant_id, p.line.location_id), 0) if p.line.location_id else None,
        )
        for p in pricing.lines
    ]
    return CartView(cart, channel, pricing, lines)


def _may_have_lines(cart: Cart) -> bool:
    # A cart created in this request has no lines yet: save the query.
    return not getattr(cart, "_is_new", False)


# --- writing a cart ------------------------------------------------------------------

_CART = Cart._meta.db_table
_EVENT = CartEvent._meta.db_table
_SETTABLE = {"customer_id", "status", "merged_into_id", "checked_out_at"}


def _touch(
    cart: Cart,
    *,
    kind: str,
    channel: SalesChannel | None,
    variant_id: int | None = None,
    quantity: int | None = None,
    data: dict[str, Any] | None = None,
    set_fields: dict[str, Any] | None = None,
    where_customer_is_null: bool = False,
    guard: tuple[str, list] | None = None,
    then: tuple[str, list] | None = None,
) -> tuple | None:
    """One statement: if the cart is still open, push its expiry, set ``set_fields``
    and record the event, and run ``then`` (SQL selecting ``FROM touched``, with its
    parameters; its first row is returned); otherwise raise ``CartClosed`` (the caller's
    transaction rolls back whatever it already wrote). It locks the cart row until the
    caller commits, so a checkout of this cart waits for the write, or the write sees
    the checkout. ``guard``: one more condition (SQL starting with AND, its parameters)
    for the cart to be written to; when it fails, nothing is written either."""
    set_fields = set_fields or {}
    if not set_fields.keys() <= _SETTABLE:
        raise ValueError(f"cannot set {sorted(set_fields.keys() - _SETTABLE)}")
    expires_at = timezone.now() + cart_ttl()
    assignments = "".join(f", {name} = %s" for name in set_fields)
    extra_where = " AND customer_id IS NULL" if where_customer_is_null else ""
    guard_sql, guard_params = guard or ("", [])
    channel_id = channel.pk if channel is not None else cart.channel_id
    event = f"""
        INSERT INTO {_EVENT} (cart_id, kind, channel_id, variant_id, quantity, data, at)
        SELECT id, %s, %s, %s, %s, %s, now() FROM touched
        RETURNING id
    """  # noqa: S608 - table names come from the models
    if then is None:
        tail, tail_params = event, []
    else:
        tail, tail_params = f", event AS ({event}) {then[0]}", then[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH touched AS (
                UPDATE {_CART} SET updated_at = now(), expires_at = %s{assignments}
                 WHERE id = %s AND status = 'open'{extra_where}{guard_sql}
                RETURNING id
            )
            {tail}
            """,  # noqa: S608 - table and column names come from the models / a whitelist
            [
                expires_at,
                *set_fields.values(),
                cart.pk,
                *guard_params,
                kind,
                channel_id,
                variant_id,
                quantity,
                Jsonb(data or {}),
                *tail_params,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        raise CartClosed()
    cart.expires_at = expires_at
    cart._is_new = False
    for name, value in set_fields.items():
        setattr(cart, name, value)
    return row


def _open(cart: Cart) -> None:
    """Refuse to write to a cart that is checked out, merged or expired."""
    if cart.checked_out_at is not None or cart.status != Cart.Status.OPEN:
        raise CartClosed()
    if _expired(cart):
        raise CartExpired(cart.expires_at)


def _check_fulfilment(fulfilment: str, location: Location | None) -> None:
    """Shape rules of a line's fulfilment choice (checkout checks the rest)."""
    if fulfilment and fulfilment not in Fulfilment.values:
        raise InvalidFulfilment(
            _("“%(fulfilment)s” is not a way of fulfilling a line (use one of %(allowed)s).")
            % {"fulfilment": fulfilment, "allowed": ", ".join(Fulfilment.values)},
            fulfilment=fulfilment,
        )
    if location is None:
        if fulfilment == Fulfilment.COLLECT:
            raise InvalidFulfilment(
                _("Click & collect needs the store to collect from."), fulfilment=fulfilment
            )
        return
    if not fulfilment:
        raise InvalidFulfilment(
            _("Choose how the line is fulfilled before choosing a location."),
            location=location.code,
        )
    if not location.is_active:
        raise InvalidFulfilment(
            _("%(location)s is closed.") % {"location": location.name}, location=location.code
        )
    allowed = {
        Fulfilment.COLLECT: {Location.Kind.STORE},
        Fulfilment.TAKEN_NOW: {Location.Kind.STORE},
        Fulfilment.SHIP: {Location.Kind.STORE, Location.Kind.WAREHOUSE},
    }[fulfilment]
    if location.kind not in allowed:
        raise InvalidFulfilment(
            _("%(location)s cannot be used for “%(fulfilment)s”.")
            % {"location": location.name, "fulfilment": Fulfilment(fulfilment).label},
            location=location.code,
            fulfilment=fulfilment,
        )


# At most this many of one item on a cart line, whatever the face (the API's serializers,
# the till's form and any other caller): far above any basket, far below what the
# quantity column holds, however many times a line is added to.
MAX_LINE_QUANTITY = 9999


class LineQuantityTooLarge(InvalidQuantity):
    def __init__(self, quantity: int) -> None:
        InvalidInput.__init__(
            self,
            _("At most %(maximum)s of an item on one line (got %(quantity)s).")
            % {"maximum": MAX_LINE_QUANTITY, "quantity": quantity},
            quantity=str(quantity),
            maximum=MAX_LINE_QUANTITY,
        )


def _check_quantity(quantity: object, *, zero_allowed: bool = False) -> int:
    if (count := count_or_none(quantity, zero_allowed=zero_allowed)) is None:
        raise InvalidQuantity(quantity)
    if count > MAX_LINE_QUANTITY:
        raise LineQuantityTooLarge(count)
    return count


def cart_create(
    *, channel: SalesChannel, customer: Customer | None = None, user: object = None
) -> Cart:
    """A new open cart on ``channel``, optionally owned by ``customer``: the cart and its
    "created" event in one statement (the first call of every web visit)."""
    cart = Cart(
        channel=channel,
        customer=customer,
        currency=channel.currency,
        expires_at=timezone.now() + cart_ttl(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH new_cart AS (
                INSERT INTO {_CART} (token, channel_id, customer_id, status, currency,
                                     created_at, updated_at, expires_at)
                VALUES (%s, %s, %s, %s, %s, now(), now(), %s)
                RETURNING id, created_at, updated_at
            ), event AS (
                INSERT INTO {_EVENT} (cart_id, kind, channel_id, data, at)
                SELECT id, %s, %s, '{{}}', now() FROM new_cart
            )
            SELECT id, created_at, updated_at FROM new_cart
            """,  # noqa: S608 - table names come from the models, values are parameters
            [
                cart.token,
                channel.pk,
                customer.pk if customer else None,
                cart.status,
                cart.currency,
                cart.expires_at,
                Kind.CREATED,
                channel.pk,
            ],
        )
        cart.pk, cart.created_at, cart.updated_at = cursor.fetchone()
    cart._state.adding = False
    cart._is_new = True
    return cart


_LINE = CartLine._meta.db_table


def cart_line_add(
    *,
    cart: Cart,
    variant: Variant,
    quantity: int = 1,
    fulfilment: str = "",
    location: Location | None = None,
    channel: SalesChannel | None = None,
) -> CartLine:
    """Add ``quantity`` of a variant; an existing line grows instead of doubling. A
    fulfilment choice given here replaces the line's (none given: the line's is kept).

    One statement (atomic on its own): the cart's expiry, the event and the line. A line
    that would pass ``MAX_LINE_QUANTITY`` is refused, and then nothing is written."""
    _check_quantity(quantity)
    _check_fulfilment(fulfilment, location)
    _open(cart)
    chosen = bool(fulfilment)
    upsert = f"""
        INSERT INTO {_LINE} (cart_id, variant_id, quantity, fulfilment, location_id, added_at)
        SELECT id, %s, %s, %s, %s, now() FROM touched
        ON CONFLICT (cart_id, variant_id) DO UPDATE
           SET quantity = {_LINE}.quantity + EXCLUDED.quantity,
               fulfilment = CASE WHEN %s THEN EXCLUDED.fulfilment ELSE {_LINE}.fulfilment END,
               location_id = CASE WHEN %s THEN EXCLUDED.location_id ELSE {_LINE}.location_id END
        RETURNING id, quantity, fulfilment, location_id, added_at
    """  # noqa: S608 - table names come from the models, values are parameters
    # The line has room for ``quantity`` more: else the cart is not written to at all.
    room = f"""
        AND NOT EXISTS (SELECT 1 FROM {_LINE}
                         WHERE cart_id = %s AND variant_id = %s AND quantity > %s)
    """  # noqa: S608 - table names come from the models, values are parameters
    try:
        line_id, total, chosen_fulfilment, location_id, added_at = _touch(
            cart,
            kind=Kind.LINE_ADDED,
            channel=channel,
            variant_id=variant.pk,
            quantity=quantity,
            guard=(room, [cart.pk, variant.pk, MAX_LINE_QUANTITY - quantity]),
            then=(
                upsert,
                [
                    variant.pk,
                    quantity,
                    fulfilment,
                    location.pk if location else None,
                    chosen,
                    chosen,
                ],
            ),
        )
    except CartClosed:
        # The cart is closed, or the line is too full (the guard): only now is it read.
        lines = CartLine.objects.filter(cart=cart, variant=variant)
        held = lines.values_list("quantity", flat=True).first()
        if held is not None and held + quantity > MAX_LINE_QUANTITY:
            raise LineQuantityTooLarge(held + quantity) from None
        raise
    line = CartLine(
        id=line_id,
        cart=cart,
        variant=variant,
        quantity=total,
        fulfilment=chosen_fulfilment,
        location_id=location_id,
        added_at=added_at,
    )
    line._state.adding = False
    return line


def _line(cart: Cart, line_id: object) -> CartLine:
    try:
        line_id = int(line_id)
    except (TypeError, ValueError):
        raise CartLineNotFound(line_id) from None
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise CartLineNotFound(line_id)
    return line


@transaction.atomic
def cart_line_set_quantity(
    *, cart: Cart, line_id: int, quantity: int, channel: SalesChannel | None = None
) -> CartLine | None:
    """Set a line's quantity; zero removes the line (and returns None)."""
    _check_quantity(quantity, zero_allowed=True)
    _open(cart)
    line = _line(cart, line_id)
    if quantity == 0:
        _touch(
            cart,
            kind=Kind.LINE_REMOVED,
            channel=channel,
            variant_id=line.variant_id,
            quantity=-line.quantity,
        )
        line.delete()
        return None
    _touch(
        cart,
        kind=Kind.LINE_CHANGED,
        channel=channel,
        variant_id=line.variant_id,
        quantity=quantity - line.quantity,
        data={"quantity": quantity},
    )
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


def cart_line_remove(*, cart: Cart, line_id: int, channel: SalesChannel | None = None) -> None:
    cart_line_set_quantity(cart=cart, line_id=line_id, quantity=0, channel=channel)


@transaction.atomic
def cart_line_fulfilment_set(
    *,
    cart: Cart,
    line_id: int,
    fulfilment: str,
    location: Location | None = None,
    channel: SalesChannel | None = None,
) -> CartLine:
    """Choose how a line is fulfilled: taken now, collected at a store (``location``),
    shipped (optionally from ``location``); an empty ``fulfilment`` goes back to the
    channel's usual way."""
    _check_fulfilment(fulfilment, location)
    _open(cart)
    line = _line(cart, line_id)
    _touch(
        cart,
        kind=Kind.LINE_CHANGED,
        channel=channel,
        variant_id=line.variant_id,
        data={"fulfilment": fulfilment, "location": location.code if location else None},
    )
    line.fulfilment, line.location = fulfilment, location
    line.save(update_fields=["fulfilment", "location"])
    return line


# --- customers and carts -------------------------------------------------------------


def _open_cart_of(customer_id: int, *, exclude: int | None = None) -> Cart | None:
    carts = Cart.objects.select_related("channel").filter(
        customer_id=customer_id, status=Cart.Status.OPEN, checked_out_at__isnull=True
    )
    carts = carts.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if exclude is not None:
        carts = carts.exclude(pk=exclude)
    return carts.order_by("-updated_at", "-id").first()


def cart_identify(
    *,
    cart: Cart,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    channel: SalesChannel | None = None,
    verified: bool = False,
) -> Cart:
    """The customer gives an email and/or a phone: find or create them
    (``customers.services.customer_identify``) and attach the cart to them.

    ``verified`` (the customer's own signed-in token, or a seller at the till who sees
    them): missing details are filled in on the customer, and if they already have an
    open cart this one merges into it (quantities add up, fulfilment choices are kept)
    and that cart — the one that survives — is returned.

    Unverified (a storefront, where anyone may type anyone's phone): the cart is only
    attached, so that the store finds it when the customer comes in. An existing
    customer's details are not touched, their carts are neither merged nor revealed, and
    the caller gets this same cart back whether or not the customer existed."""
    _open(cart)
    customer, created = customer_identify(
        email=email,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        channel=channel,
        verified=verified,
    )
    if cart.customer_id == customer.pk:
        return cart
    if cart.customer_id is not None:
        raise CartForeign()
    existing = None
    if verified and not created:
        existing = _open_cart_of(customer.pk, exclude=cart.pk)
    # Without a cart to merge into, the one statement of _touch is atomic on its own.
    with transaction.atomic() if existing else nullcontext():
        _touch(
            cart,
            kind=Kind.IDENTIFIED,
            channel=channel,
            data={"customer_id": customer.pk, "created": created, "verified": verified},
            set_fields={"customer_id": customer.pk},
            where_customer_is_null=True,
        )
        cart.customer = customer
        if existing is None:
            return cart
        return cart_merge(source=cart, target=existing, channel=channel)


@transaction.atomic
def cart_merge(*, source: Cart, target: Cart, channel: SalesChannel | None = None) -> Cart:
    """Move ``source``'s lines into ``target`` and close ``source`` (its token then
    leads to ``target``). A variant in both carts keeps one line whose quantity is the
    sum; a fulfilment choice on either line is kept (the target's wins). Also used when
    two customers are merged. Returns ``target``."""
    if source.pk == target.pk:
        return target
    locked = {
        c.pk: c
        for c in Cart.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    for cart in locked.values():
        _open(cart)
    lines = list(CartLine.objects.filter(cart_id__in=[source.pk, target.pk]))
    in_target = {line.variant_id: line for line in lines if line.cart_id == target.pk}
    grown, moved, absorbed = [], [], []
    for line in lines:
        if line.cart_id != source.pk:
            continue
        kept = in_target.get(line.variant_id)
        if kept is None:
            moved.append(line.pk)
            continue
        kept.quantity += line.quantity
        if not kept.fulfilment and line.fulfilment:
            kept.fulfilment, kept.location_id = line.fulfilment, line.location_id
        grown.append(kept)
        absorbed.append(line.pk)
    if absorbed:
        CartLine.objects.filter(pk__in=absorbed).delete()
    if grown:
        CartLine.objects.bulk_update(grown, ["quantity", "fulfilment", "location"])
    if moved:
        CartLine.objects.filter(pk__in=moved).update(cart_id=target.pk)
    _touch(
        source,
        kind=Kind.MERGED,
        channel=channel,
        data={"into": target.pk},
        set_fields={"status": Cart.Status.MERGED, "merged_into_id": target.pk},
    )
    target_fields = {}
    if target.customer_id is None and locked[source.pk].customer_id is not None:
        target_fields["customer_id"] = locked[source.pk].customer_id
    _touch(
        target,
        kind=Kind.MERGED,
        channel=channel,
        data={"from": source.pk, "lines": len(moved) + len(absorbed)},
        set_fields=target_fields,
    )
    return target


@transaction.atomic
def cart_open(*, cart: Cart, channel: SalesChannel) -> Cart:
    """Another channel opens the cart (the seller scanned the cart's QR code, or found
    the customer): recorded as a cart event when the channel is not the cart's own."""
    _open(cart)
    if channel.pk != cart.channel_id:
        _touch(cart, kind=Kind.OPENED, channel=channel, data={"from": cart.channel_id})
    return cart


@transaction.atomic
def cart_open_for_customer(*, customer: Customer, channel: SalesChannel | None = None) -> Cart:
    """The customer's open cart (the most recent), or a new one owned by them on
    ``channel``: what the POS shows after finding the customer."""
    cart = _open_cart_of(customer.pk)
    if cart is None:
        if channel is None:
            raise CartNotFound()
        return cart_create(channel=channel, customer=customer)
    cart.customer = customer
    if channel is not None:
        cart_open(cart=cart, channel=channel)
    return cart


def cart_event_record(
    *, cart: Cart, kind: str, channel: SalesChannel | None = None, data: dict | None = None
) -> CartEvent:
    """Record an event without changing the cart (for callers outside this module)."""
    return CartEvent.objects.create(
        cart=cart, kind=kind, channel_id=channel.pk if channel else cart.channel_id, data=data or {}
    )
