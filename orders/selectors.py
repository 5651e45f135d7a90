"""Reads of orders shared by several faces: which orders, returns and carts a member of
staff may see (store scoping).

Store staff (sellers, store managers, a warehouse team) see what concerns the locations
they are staff of; head office (``inventory.all_locations``) sees everything
(``inventory.selectors.staff_location_ids``). An order concerns a location when it was
checked out on a store channel that location feeds (sold at its tills), or when one of
its lines is fulfilled there (taken now, collected, or shipped from it). A return
concerns the location that received it, and the locations of its order.

Carts are read here too: ``cart_get`` (a cart by its token, as the caller may see it),
``cart_view`` (today's prices and what the channel can sell of each line) and
``stock_levels_for`` (the stock rows checkout plans from). Prices come from
``orders.pricing``; writes are in ``orders.services.carts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from inventory.models import Location, Reservation, StockLevel
from inventory.selectors import staff_location_ids
from orders.exceptions import CartExpired, CartForeign, CartLineNotFound, CartNotFound
from orders.models import Cart, CartLine, Fulfilment, Order, OrderLine, Return, Shipment
from orders.pricing.carts import CartPricing, PricedLine, cart_price
from unicommerce.channels.models import SalesChannel

if TYPE_CHECKING:
    from datetime import datetime

# How many merges a token may be followed through (a merged cart's token keeps working).
_MAX_MERGE_HOPS = 5


def store_channel_ids(location_ids) -> list[int]:
    """The store channels these locations sell on (their tills' channel)."""
    return list(
        SalesChannel.objects.filter(
            kind=SalesChannel.Kind.STORE, locations__in=location_ids
        ).values_list("pk", flat=True)
    )


def order_scope_q(location_ids) -> Q:
    """A filter on orders keeping those concerning these locations (rows pointing at an
    order filter with ``order__in=orders_visible_to(…)``)."""
    fulfilled_there = OrderLine.objects.filter(
        order_id=OuterRef("pk"), location_id__in=location_ids
    )
    return Q(channel_id__in=store_channel_ids(location_ids)) | Q(Exists(fulfilled_there))


def orders_visible_to(user, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """The orders this member of staff may see (all for head office)."""
    queryset = Order.objects.all() if queryset is None else queryset
    location_ids = staff_location_ids(user)
    if location_ids is None:
        return queryset
    if not location_ids:
        return queryset.none()
    return queryset.filter(order_scope_q(location_ids))


def order_visible_to(user, order: Order) -> bool:
    """May this member of staff see (and, with the permission, act on) this order?"""
    if staff_location_ids(user) is None:
        return True
    return orders_visible_to(user, Order.objects.filter(pk=order.pk)).exists()


def returns_visible_to(user, queryset: QuerySet[Return] | None = None) -> QuerySet[Return]:
    """Returns received at the user's locations, or of orders they may see."""
    queryset = Return.objects.all() if queryset is None else queryset
    location_ids = staff_location_ids(user)
    if location_ids is None:
        return queryset
    if not location_ids:
        return queryset.none()
    fulfilled_there = OrderLine.objects.filter(
        order_id=OuterRef("order_id"), location_id__in=location_ids
    )
    return queryset.filter(
        Q(location_id__in=location_ids)
        | Q(order__channel_id__in=store_channel_ids(location_ids))
        | Q(Exists(fulfilled_there))
    )


def carts_visible_to(user, queryset: QuerySet[Cart] | None = None) -> QuerySet[Cart]:
    """Carts on the store channels of the user's locations (a customer's own carts of
    other channels are reached at the till by finding the customer, not listed)."""
    queryset = Cart.objects.all() if queryset is None else queryset
    location_ids = staff_location_ids(user)
    if location_ids is None:
        return queryset
    return queryset.filter(channel_id__in=store_channel_ids(location_ids))


#: What an order still waiting for its money has as payment status.
AWAITING_PAYMENT = (Order.PaymentStatus.UNPAID, Order.PaymentStatus.PARTIALLY_PAID)


def orders_awaiting_payment(queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """The live orders not paid in full (unpaid or partly paid, not cancelled), oldest
    first: the till's "waiting for payment" list and the admin's payment-status filter.
    An order paid by a running instalment plan is paid; a (partly) refunded one is not
    waiting."""
    queryset = Order.objects.all() if queryset is None else queryset
    return (
        queryset.filter(payment_status__in=AWAITING_PAYMENT)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("created_at", "id")
    )


def orders_awaiting_payment_at(location_id: int, queryset: QuerySet[Order] | None = None):
    """Those of one store: checked out at its tills, or with a line fulfilled there (the
    goods held at its till, collected there)."""
    return orders_awaiting_payment(queryset).filter(order_scope_q([location_id]))


def orders_holding_goods_at(*, order_ids: list[int], location_id: int) -> set[int]:
    """Which of these orders have goods taken at this store's till and held there until
    the order is paid (open taken-now lines), in one query."""
    return set(
        OrderLine.objects.filter(
            order_id__in=order_ids,
            fulfilment=Fulfilment.TAKEN_NOW,
            status=OrderLine.Status.OPEN,
            location_id=location_id,
        ).values_list("order_id", flat=True)
    )


# --- carts ---------------------------------------------------------------------------


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


def cart_is_expired(cart: Cart, now: datetime | None = None) -> bool:
    """Is this open cart past its expiry (``now``: default the current time)?"""
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
    if cart_is_expired(cart):
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


def cart_line_get(cart: Cart, line_id: object) -> CartLine:
    """The line ``line_id`` of this cart, else ``CartLineNotFound`` (404)."""
    try:
        line_id = int(line_id)
    except (TypeError, ValueError):
        raise CartLineNotFound(line_id) from None
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise CartLineNotFound(line_id)
    return line


def cart_open_of_customer(customer_id: int, *, exclude: int | None = None) -> Cart | None:
    """The customer's most recently updated open cart (not ``exclude``), with its channel."""
    carts = Cart.objects.select_related("channel").filter(
        customer_id=customer_id, status=Cart.Status.OPEN, checked_out_at__isnull=True
    )
    carts = carts.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if exclude is not None:
        carts = carts.exclude(pk=exclude)
    return carts.order_by("-updated_at", "-id").first()


# Shipments a store prepares itself: click & collect waiting there, or shipped from it.
_COUNTER_OPEN = (
    Shipment.Status.PENDING,
    Shipment.Status.PICKING,
    Shipment.Status.PACKED,
    Shipment.Status.READY,
)


def store_fulfilment_queue(location_id: int, *, limit: int = 100) -> list[Shipment]:
    """The store's click & collect and ship-from-store shipments still to hand over,
    oldest first within each step (ready for pickup first: the customer may be at the
    counter), with their order, customer and lines: three queries."""
    rank = {Shipment.Status.READY: 0, Shipment.Status.PACKED: 1, Shipment.Status.PICKING: 2}
    shipments = list(
        Shipment.objects.filter(
            location_id=location_id,
            kind__in=(Fulfilment.COLLECT, Fulfilment.SHIP),
            status__in=_COUNTER_OPEN,
        )
        .select_related("order", "order__customer", "order__channel")
        .prefetch_related("lines")
        .order_by("created_at", "id")[:limit]
    )
    return sorted(shipments, key=lambda s: (rank.get(s.status, 3), s.created_at, s.pk))
