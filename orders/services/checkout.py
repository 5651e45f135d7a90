"""Checkout: ONE service turns a cart into an order, whatever the channel (API or POS).

``order_checkout`` locks the cart, prices it, decides how each line is fulfilled, checks
that every line can be had (all short lines are reported together, nothing changed),
then takes the stock: lines taken now are sold at the till, click & collect lines are
reserved at their store, shipped lines at the locations orchestration chose
(``orders.orchestration``). Goods never leave unpaid: when the order is not paid right
there (the till's cash, or the caller taking payment in the same transaction), its
taken-now lines are reserved at the till instead, and handed over once the order is paid
in full (``orders.services.fulfilment.order_paid_hand_over``, called by whichever payment
makes it paid), or given back by the unpaid-order expiry. Stock rows are always
touched in (variant, location) order, so concurrent checkouts never deadlock, and by
conditional statements, so the last unit is never sold twice. It ends by handing the
order over to the chosen payment method (``orders.payment_methods``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import SalesChannel
from customers.phones import phone_e164
from customers.services import email_normalised
from inventory.exceptions import InsufficientStock
from inventory.models import Location, UnbookedSale
from inventory.selectors import staff_acts_at
from inventory.services import stock_sell
from inventory.services.reservations import stock_reserve
from inventory.services.unbooked import unbooked_sales_granted
from orders.conf import cart_ttl, orchestration_strategy
from orders.exceptions import (
    CartClosed,
    CheckoutUnavailable,
    EmptyCart,
    InvalidFulfilment,
    InvalidShippingAddress,
)
from orders.locks import cart_lock
from orders.models import Cart, CartEvent, Fulfilment, Order, OrderEvent, OrderLine, Shipment
from orders.orchestration import Candidate, Destination, ShipLine, Unallocatable
from orders.payment_methods import payment_method_get
from orders.services.carts import (
    PricedLine,
    _check_fulfilment,
    _open,
    cart_price,
    stock_levels_for,
)
from orders.services.unbooked import cart_line_reference
from unicommerce.actors import acting_user
from unicommerce.events.services import event_insert_sql, event_relay_after_commit
from unicommerce.exceptions import InPersonOnly
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

ORDER_PLACED = "order.placed"
ADDRESS_REQUIRED = ("line1", "postal_code", "city", "country")
ADDRESS_FIELDS = (
    "name",  # the recipient as written on the parcel (the till's form has one field)
    "first_name",
    "last_name",
    "line1",
    "line2",
    "postal_code",
    "city",
    "country",
    "phone",
)


@dataclass(frozen=True)
class LineChoice:
    """How one line is to be fulfilled, chosen at checkout (overrides the cart line's)."""

    fulfilment: str
    location: Location | None = None


@dataclass
class _Line:
    priced: PricedLine
    fulfilment: str
    location: Location | None  # the till, the collect store, or a chosen ship location

    @property
    def variant_id(self) -> int:
        return self.priced.line.variant_id

    @property
    def quantity(self) -> int:
        return self.priced.line.quantity


def shipping_address_clean(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The snapshot kept on the order: trimmed text fields, optional coordinates;
    ``InvalidShippingAddress`` (400) naming what is missing."""
    raw = raw or {}
    address: dict[str, Any] = {
        name: str(raw.get(name) or "").strip()[:255] for name in ADDRESS_FIELDS
    }
    address["country"] = address["country"].upper()
    if not address["name"]:
        # One line for the parcel, the receipt and the admin, whichever form was used.
        address["name"] = f"{address['first_name']} {address['last_name']}".strip()
    missing = [name for name in ADDRESS_REQUIRED if not address[name]]
    if address["country"] and len(address["country"]) != 2:
        missing.append("country")
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            missing.append(name)
            continue
        if not number.is_finite() or abs(number) > bound:
            missing.append(name)
            continue
        address[name] = str(number)
    if missing:
        raise InvalidShippingAddress(missing)
    if address["phone"]:
        address["phone"] = phone_e164(address["phone"])
    return address


def _resolve(
    pricing_lines: list[PricedLine],
    *,
    channel: SalesChannel,
    till_location: Location | None,
    line_choices: Mapping[int, LineChoice] | None,
    default_choice: LineChoice | None,
) -> list[_Line]:
    choices = dict(line_choices or {})
    known = {p.line.pk for p in pricing_lines}
    unknown = sorted(str(k) for k in choices if k not in known)
    if unknown:
        raise InvalidFulfilment(
            _("The cart has no line %(lines)s.") % {"lines": ", ".join(unknown)}, lines=unknown
        )
    resolved = []
    for priced in pricing_lines:
        line = priced.line
        choice = choices.get(line.pk) or default_choice
        if choice is not None:
            fulfilment, location = choice.fulfilment, choice.location
            if not fulfilment:
                raise InvalidFulfilment(_("Choose how each line is fulfilled."), line_id=line.pk)
        elif line.fulfilment:
            fulfilment, location = line.fulfilment, line.location
        elif channel.kind == SalesChannel.Kind.STORE and till_location is not None:
            fulfilment, location = Fulfilment.TAKEN_NOW, till_location
        else:
            fulfilment, location = Fulfilment.SHIP, None
        if fulfilment == Fulfilment.TAKEN_NOW:
            if till_location is None:
                raise InvalidFulfilment(
                    _("Only a till can hand goods over now; choose shipping or collection."),
                    line_id=line.pk,
                    fulfilment=fulfilment,
                )
            location = till_location
        _check_fulfilment(fulfilment, location)
        resolved.append(_Line(priced, fulfilment, location))
    return resolved


def _stock_rows(
    *, channel: SalesChannel, variant_ids: set[int], explicit_ids: set[int], ship: bool
) -> list[dict]:
    """In one query: the levels of these variants at the locations named by lines and,
    when something ships, at every candidate shipping location (active stores and
    warehouses feeding the channel; from a store, every one feeding an active channel:
    the endless aisle)."""
    return stock_levels_for(
        variant_ids=variant_ids,
        location_ids=explicit_ids,
        channel=channel,
        fed_kinds=[Location.Kind.STORE, Location.Kind.WAREHOUSE] if ship else None,
        any_active_channel=channel.kind == SalesChannel.Kind.STORE,
    )


RACE_ATTEMPTS = 3


def _in_person_check(*, user, till_location: Location | None, method) -> None:
    """A till (``till_location``: goods taken off its shelves now, taken-now lines) and
    in-person methods (cash) are for that store's staff at its till: never for a
    channel's key or a customer, whatever they send."""
    if method is not None and method.in_person and till_location is None:
        raise InPersonOnly(
            _("%(method)s is taken at a store's till.") % {"method": method.label},
            reason="payment_method",
        )
    if till_location is None:
        return
    if user is None or not user.has_perm("pos.sell") or not staff_acts_at(user, till_location.pk):
        raise InPersonOnly(
            _("Only the staff of %(store)s sell from its shelves, at its till.")
            % {"store": till_location.name},
            reason="till_location",
        )


class _RaceLost(Exception):
    """Internal: a reservation or sale found fewer units than the plan counted on."""

    def __init__(self, lines: list[dict]) -> None:
        super().__init__(lines)
        self.lines = lines


@dataclass(frozen=True)
class _Take:
    """One stock operation: sell (taken now) or reserve, for one line at one location."""

    variant_id: int
    location_id: int
    quantity: int
    line: _Line
    unbooked: UnbookedSale | None = None  # taken now though not in the books, approved


def _plan(
    lines: list[_Line],
    rows: list[dict],
    *,
    channel: SalesChannel,
    destination: Destination | None,
) -> list[_Take]:
    """Check every line, then choose locations; raise one CheckoutUnavailable listing
    each short line."""
    at = {(r["variant_id"], r["location_id"]): r for r in rows}
    candidates: dict[int, Candidate] = {}
    for r in rows:
        if r["fed"] and r["location__kind"] in (Location.Kind.STORE, Location.Kind.WAREHOUSE):
            candidate = candidates.get(r["location_id"])
            if candidate is None:
                candidate = candidates[r["location_id"]] = Candidate(
                    location_id=r["location_id"],
                    postal_code=r["location__postal_code"] or "",
                    latitude=r["location__latitude"],
                    longitude=r["location__longitude"],
                    kind=r["location__kind"],
                )
            candidate.available[r["variant_id"]] = r["available_now"]
    takes: list[_Take] = []
    short: list[dict] = []
    orchestrated: list[_Line] = []
    unbooked: list[tuple[_Line, int]] = []  # short taken-now lines: approved overrides?
    for line in lines:
        if line.fulfilment == Fulfilment.SHIP and line.location is None:
            orchestrated.append(line)
            continue
        row = at.get((line.variant_id, line.location.pk))
        if line.fulfilment == Fulfilment.TAKEN_NOW:
            # At the till the customer holds the item: safety stock may go.
            available = max(row["on_hand"] - row["reserved_now"], 0) if row else 0
        else:
            available = row["available_now"] if row else 0
        if available < line.quantity and line.fulfilment == Fulfilment.TAKEN_NOW:
            unbooked.append((line, available))
        elif available < line.quantity:
            short.append(_short(line, available))
        else:
            takes.append(_Take(line.variant_id, line.location.pk, line.quantity, line))
    if unbooked:
        _plan_unbooked(unbooked, takes=takes, short=short)
    if orchestrated:
        ship_lines = [ShipLine(line.variant_id, line.quantity) for line in orchestrated]
        try:
            allocations = orchestration_strategy()(
                lines=ship_lines, candidates=list(candidates.values()), destination=destination
            )
        except Unallocatable as error:
            totals = {
                v: sum(c.available.get(v, 0) for c in candidates.values()) for v in error.short
            }
            short.extend(
                _short(line, totals[line.variant_id])
                for line in orchestrated
                if line.variant_id in totals
            )
        else:
            by_variant = {line.variant_id: line for line in orchestrated}
            takes.extend(
                _Take(a.variant_id, a.location_id, a.quantity, by_variant[a.variant_id])
                for a in allocations
            )
    if short:
        short.sort(key=lambda s: s["line_id"])
        raise CheckoutUnavailable(short)
    return takes


def _plan_unbooked(
    lines: list[tuple[_Line, int]], *, takes: list[_Take], short: list[dict]
) -> None:
    """Short taken-now lines (all at the till's store): those with an override granted
    for them (``orders.services.unbooked``) covering what the books lack are taken with
    it, the others are short. Read only when a taken-now line is short: one query."""
    location_id = lines[0][0].location.pk
    granted = unbooked_sales_granted(
        references=[cart_line_reference(line.priced.line.pk) for line, _free in lines],
        location_id=location_id,
    )
    for line, available in lines:
        sale = granted.get(cart_line_reference(line.priced.line.pk))
        if sale is not None and sale.variant_id != line.variant_id:
            sale = None
        if sale is not None and available + sale.quantity >= line.quantity:
            takes.append(_Take(line.variant_id, location_id, line.quantity, line, sale))
            continue
        entry = _short(line, available + (sale.quantity if sale else 0))
        if sale is not None:
            entry["unbooked_approved"] = sale.quantity
        short.append(entry)


def _short(line: _Line, available: int) -> dict:
    return {
        "line_id": line.priced.line.pk,
        "variant_id": line.variant_id,
        "sku": line.priced.line.variant.sku,
        "fulfilment": line.fulfilment,
        "location": line.location.code if line.location is not None else None,
        "location_name": line.location.name if line.location is not None else None,
        "requested": line.quantity,
        "available": available,
    }


def _take_stock(
    takes: list[_Take],
    *,
    order: Order,
    channel: SalesChannel,
    user: AbstractBaseUser | None,
    hold_taken_now: bool = False,
) -> dict[tuple[int, int], int]:
    """Sell and reserve in (variant, location) order; a loser of a race raises
    _RaceLost (the caller retries). Returns {(variant_id, location_id): reservation id}.
    With ``hold_taken_now`` (the order is not paid yet), taken-now lines are reserved at
    the till, safety stock included (the item is in the customer's hand), not sold."""
    ordered = sorted(takes, key=lambda t: (t.variant_id, t.location_id))
    reservations: dict[tuple[int, int], int] = {}
    index = 0
    while index < len(ordered):
        take = ordered[index]
        held = hold_taken_now and take.line.fulfilment == Fulfilment.TAKEN_NOW
        try:
            if take.line.fulfilment == Fulfilment.TAKEN_NOW and not held:
                # A run of taken-now lines (all at the till) is one sale, still in order.
                run = [take]
                while (
                    index + len(run) < len(ordered)
                    and ordered[index + len(run)].line.fulfilment == Fulfilment.TAKEN_NOW
                ):
                    run.append(ordered[index + len(run)])
                stock_sell(
                    location_id=take.location_id,
                    lines=[(t.variant_id, t.quantity) for t in run],
                    user=user,
                    source=order,
                    unbooked_sale_ids={t.variant_id: t.unbooked.pk for t in run if t.unbooked},
                )
                index += len(run)
                continue
            reservation = stock_reserve(
                variant_id=take.variant_id,
                location_id=take.location_id,
                quantity=take.quantity,
                expires_at=None,
                channel=channel,
                reference=order.reference,
                user=user,
                keep_safety=not held,
            )
        except InsufficientStock as error:
            line = take.line
            short = _short(line, error.available)
            if take.unbooked is not None:
                short["unbooked_approved"] = take.unbooked.quantity
            if line.location is None:  # orchestrated: say where the race was lost
                short["location_name"] = error.location
            raise _RaceLost([short]) from error
        reservations[(take.variant_id, take.location_id)] = reservation.pk
        index += 1
    return reservations


def order_checkout(
    *,
    cart: Cart,
    channel: SalesChannel,
    payment_method: str | None,
    till_location: Location | None = None,
    contact_email: str = "",
    contact_phone: str = "",
    shipping_address: Mapping[str, Any] | None = None,
    line_choices: Mapping[int, LineChoice] | None = None,
    default_choice: LineChoice | None = None,
    user: Any = None,
    payment_params: Mapping[str, Any] | None = None,
) -> Order:
    """Turn ``cart`` into an order placed on ``channel`` (where checkout happens; the
    cart may have been filled elsewhere), and hand it over to ``payment_method``.

    Each line's fulfilment: ``line_choices[line_id]``, else ``default_choice``, else the
    cart line's, else the channel's usual way (taken now at ``till_location`` in a
    store, shipped otherwise). A shipped line needs ``shipping_address``. ``payment_method``
    None means the caller takes payment itself in the same transaction (the till).

    All or nothing: every short line is listed in one ``CheckoutUnavailable`` (409), bad
    choices are ``InvalidFulfilment`` (400), an unknown method ``UnknownPaymentMethod``
    (400), and nothing has changed. ``payment_params`` go to the method's hand-over
    (e.g. the cash tendered at the till).
    """
    actor = acting_user(user)
    method = payment_method_get(payment_method, channel=channel) if payment_method else None
    email = email_normalised(contact_email) if contact_email else ""
    phone = phone_e164(contact_phone) if contact_phone else ""
    if till_location is not None and (
        till_location.kind != Location.Kind.STORE or not till_location.is_active
    ):
        raise InvalidFulfilment(
            _("%(location)s is not an open store.") % {"location": till_location.name},
            location=till_location.code,
        )
    _in_person_check(user=actor, till_location=till_location, method=method)
    given_cart = cart

    def attempt() -> Order:
        cart = cart_lock(given_cart.pk)
        _open(cart)
        # The cart's channel and customer as the caller loaded them (they never change
        # under a lock, except the customer, compared by id): no extra queries.
        origin = channel if cart.channel_id == channel.pk else given_cart.channel
        if (
            cart.customer_id is not None
            and Cart.customer.is_cached(given_cart)
            and given_cart.customer_id == cart.customer_id
        ):
            cart.customer = given_cart.customer
        pricing = cart_price(cart=cart, channel=channel)
        if not pricing.lines:
            raise EmptyCart()
        lines = _resolve(
            pricing.lines,
            channel=channel,
            till_location=till_location,
            line_choices=line_choices,
            default_choice=default_choice,
        )
        ship = any(line.fulfilment == Fulfilment.SHIP for line in lines)
        address = shipping_address_clean(shipping_address) if ship else None
        destination = None
        if address is not None:
            destination = Destination(
                postal_code=address["postal_code"],
                latitude=float(address["latitude"]) if "latitude" in address else None,
                longitude=float(address["longitude"]) if "longitude" in address else None,
            )
        rows = _stock_rows(
            channel=channel,
            variant_ids={line.variant_id for line in lines},
            explicit_ids={line.location.pk for line in lines if line.location is not None},
            ship=any(line.fulfilment == Fulfilment.SHIP and not line.location for line in lines),
        )
        takes = _plan(lines, rows, channel=channel, destination=destination)
        locations = {line.location.pk: line.location for line in lines if line.location}
        for row in rows:
            if row["location_id"] not in locations:
                location = Location(
                    id=row["location_id"],
                    code=row["location__code"],
                    name=row["location__name"],
                    kind=row["location__kind"],
                )
                location._state.adding, location._state.db = False, "default"
                locations[row["location_id"]] = location
        return _order_create(
            cart=cart,
            origin=origin,
            channel=channel,
            pricing_total=pricing.total_amount,
            takes=takes,
            hold_taken_now=_paid_later(method, pricing.total_amount),
            method_code=method.code if method else "",
            method=method,
            email=email,
            phone=phone,
            address=address,
            actor=actor,
            payment_params=dict(payment_params or {}),
            locations=locations,
        )

    # A reservation that loses a race to another checkout rolls this attempt back; the
    # next attempt re-reads the stock and plans again (another location may have it).
    for number in range(1, RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                order = attempt()
        except _RaceLost as lost:
            if number == RACE_ATTEMPTS:
                raise CheckoutUnavailable(lost.lines) from None
        else:
            given_cart.status, given_cart.checked_out_at = (
                order.cart.status,
                order.cart.checked_out_at,
            )
            return order
    raise AssertionError("unreachable")


def _insert_parts(instance, *, computed: dict[str, str] | None = None) -> tuple[str, str, list]:
    """The column list, the value list and the parameters of an INSERT of ``instance``,
    as Django's own INSERT would write them (defaults and ``auto_now`` applied), with
    ``computed`` columns given as SQL expressions instead."""
    computed = computed or {}
    columns, values, params = [], [], []
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in computed:
            values.append(computed[field.column])
            continue
        values.append("%s")
        params.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return ", ".join(columns), ", ".join(values), params


_REFERENCE_SQL = "'UC' || lpad(new_order.id::text, greatest(8, length(new_order.id::text)), '0')"


def _order_insert(*, order: Order, placed: OrderEvent, cart: Cart, channel: SalesChannel, now):
    """The order, its "placed" timeline entry, the cart checked out with its event, and
    the ``order.placed`` outbox event: one statement (one round trip on the hottest
    path of the shop)."""
    order_columns, order_values, order_params = _insert_parts(order)
    placed.order_id = 0  # replaced by the new order's id in the statement
    event_columns, event_values, event_params = _insert_parts(
        placed, computed={"order_id": "new_order.id"}
    )
    outbox = event_insert_sql(
        topic=ORDER_PLACED,
        payload={
            "channel_id": channel.pk,
            "origin_channel_id": cart.channel_id,
            "customer_id": cart.customer_id,
        },
    )
    event_id, topic, payload = outbox.params
    expires_at = now + cart_ttl()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH new_order AS (
                INSERT INTO {Order._meta.db_table} ({order_columns}) VALUES ({order_values})
                RETURNING id, created_at, updated_at
            ), placed AS (
                INSERT INTO {OrderEvent._meta.db_table} ({event_columns})
                SELECT {event_values} FROM new_order
            ), touched AS (
                UPDATE {Cart._meta.db_table}
                   SET updated_at = now(), expires_at = %s, status = %s, checked_out_at = %s
                 WHERE id = %s AND status = 'open'
                RETURNING id
            ), cart_event AS (
                INSERT INTO {CartEvent._meta.db_table} (cart_id, kind, channel_id, data, at)
                SELECT touched.id, %s, %s,
                       jsonb_build_object('order_id', new_order.id, 'order', {_REFERENCE_SQL}),
                       now()
                  FROM touched, new_order
            ), outbox AS (
                {outbox.into}
                SELECT %s, %s,
                       %s || jsonb_build_object('order_id', new_order.id,
                                                'reference', {_REFERENCE_SQL}),
                       now(), 0, ''
                  FROM new_order
            )
            SELECT new_order.id, new_order.created_at, new_order.updated_at,
                   (SELECT count(*) FROM touched)
              FROM new_order
            """,  # noqa: S608 - table and column names come from the models
            [
                *order_params,
                *event_params,
                expires_at,
                Cart.Status.CHECKED_OUT,
                now,
                cart.pk,
                CartEvent.Kind.CHECKED_OUT,
                channel.pk,
                event_id,
                topic,
                payload,
            ],
        )
        order.pk, order.created_at, order.updated_at, touched = cursor.fetchone()
    if not touched:
        raise CartClosed()
    order._state.adding, order._state.db = False, "default"
    event_relay_after_commit(outbox.event_id)
    cart.status, cart.checked_out_at, cart.expires_at = Cart.Status.CHECKED_OUT, now, expires_at


def _paid_later(method, total: Decimal) -> bool:
    """Whether the order leaves checkout unpaid: any method but an in-person one (cash at
    the till, settled in checkout's transaction) and the caller's own (``None``: the
    till takes payment in the same transaction). A free order is never unpaid."""
    return method is not None and not method.in_person and total > 0


def _order_create(
    *,
    cart: Cart,
    origin: SalesChannel,
    channel: SalesChannel,
    pricing_total: Decimal,
    takes: list[_Take],
    method_code: str,
    hold_taken_now: bool = False,
    method,
    email: str,
    phone: str,
    address: dict | None,
    actor: AbstractBaseUser | None,
    payment_params: dict[str, Any],
    locations: dict[int, Location],
) -> Order:
    now = timezone.now()
    # Taken-now lines leave now only when the order is paid now (else they are held).
    taken_now = [t.line.fulfilment == Fulfilment.TAKEN_NOW and not hold_taken_now for t in takes]
    if hold_taken_now:
        _unbooked_refuse_unpaid(takes)
    if all(taken_now):
        status = Order.Status.FULFILLED
    elif any(taken_now):
        status = Order.Status.PARTIALLY_FULFILLED
    else:
        status = Order.Status.PLACED
    customer = cart.customer if cart.customer_id else None
    order = Order(
        channel=channel,
        origin_channel_id=cart.channel_id,
        customer_id=cart.customer_id,
        cart=cart,
        status=status,
        currency=cart.currency,
        total_amount=pricing_total,
        payment_method=method_code,
        email=email or (customer.email if customer and customer.email else ""),
        phone=phone or (customer.phone if customer and customer.phone else ""),
        shipping_address=address,
        created_by=actor,
    )
    kinds = sorted({t.line.fulfilment for t in takes})
    held = hold_taken_now and Fulfilment.TAKEN_NOW in kinds
    if origin.pk != channel.pk:
        message = _("Cart filled on %(origin)s, checked out on %(channel)s.") % {
            "origin": origin.name,
            "channel": channel.name,
        }
    else:
        message = _("Placed on %(channel)s.") % {"channel": channel.name}
    placed = OrderEvent(
        kind="placed",
        message=message[:255],
        to_status=status,
        channel=channel,
        actor=actor,
        data={
            "channel": channel.code,
            "origin_channel": origin.code,
            "fulfilment": kinds,
            "payment_method": method_code,
            **({"handed_over_when_paid": True} if held else {}),
        },
    )
    _order_insert(order=order, placed=placed, cart=cart, channel=channel, now=now)
    # Shipments: one per (fulfilment, location), in the order lines first need them.
    groups: dict[tuple[str, int], Shipment] = {}
    for take in takes:
        key = (take.line.fulfilment, take.location_id)
        if key not in groups:
            is_taken = take.line.fulfilment == Fulfilment.TAKEN_NOW and not hold_taken_now
            groups[key] = Shipment(
                order=order,
                kind=take.line.fulfilment,
                location=locations[take.location_id],
                status=Shipment.Status.TAKEN if is_taken else Shipment.Status.PENDING,
                collected_at=now if is_taken else None,
            )
    Shipment.objects.bulk_create(groups.values())
    # Stock last: the hot stock rows stay locked for as little as possible.
    reservations = _take_stock(
        takes, order=order, channel=channel, user=actor, hold_taken_now=hold_taken_now
    )
    if any(take.unbooked for take in takes):
        _unbooked_timeline(takes, order=order, channel=channel, actor=actor, locations=locations)
    order_lines = []
    for take in takes:
        priced = take.line.priced
        is_taken = take.line.fulfilment == Fulfilment.TAKEN_NOW and not hold_taken_now
        variant = priced.line.variant
        order_lines.append(
            OrderLine(
                order=order,
                variant=variant,
                sku=variant.sku,
                name=f"{variant.product.name} {variant.label}".strip(),
                quantity=take.quantity,
                unit_price_amount=priced.unit_price_amount,
                vat_rate=priced.vat_rate,
                total_amount=money_round(priced.unit_price_amount * take.quantity, order.currency),
                fulfilment=take.line.fulfilment,
                location=locations[take.location_id],
                status=OrderLine.Status.FULFILLED if is_taken else OrderLine.Status.OPEN,
                shipment=groups[(take.line.fulfilment, take.location_id)],
                reservation_id=reservations.get((take.variant_id, take.location_id)),
            )
        )
    order._prefetched_objects_cache = {
        "lines": _known(OrderLine.objects.filter(order=order), bulk_create=order_lines),
        "shipments": _known(Shipment.objects.filter(order=order), rows=list(groups.values())),
    }
    order.channel, order.origin_channel = channel, origin
    if method is not None:
        method.handoff(order=order, channel=channel, user=actor, params=payment_params)
    return order


def _unbooked_timeline(
    takes: list[_Take],
    *,
    order: Order,
    channel: SalesChannel,
    actor: AbstractBaseUser | None,
    locations: dict[int, Location],
) -> None:
    """One timeline entry per line sold though not in the books: what, why, who sold,
    who approved (the ledger row says the same, with the order as its source)."""
    events = []
    for take in takes:
        sale = take.unbooked
        if sale is None:
            continue
        values = {
            "quantity": sale.quantity,
            "sku": take.line.priced.line.variant.sku,
            "store": locations[take.location_id].name,
            "reason": sale.get_reason_display(),
            "approver": sale.approver.get_username() if sale.approver_id else "",
        }
        if sale.approver_id:
            message = _(
                "Sold though not in the books: %(quantity)s × %(sku)s at %(store)s "
                "(%(reason)s), approved by %(approver)s."
            )
        else:
            message = _(
                "Sold though not in the books: %(quantity)s × %(sku)s at %(store)s (%(reason)s)."
            )
        events.append(
            OrderEvent(
                order=order,
                kind="unbooked_sale",
                message=(message % values)[:255],
                channel=channel,
                actor=actor,
                data={
                    "unbooked_sale_id": sale.pk,
                    "variant_id": take.variant_id,
                    "sku": values["sku"],
                    "location": locations[take.location_id].code,
                    "units_not_in_books": sale.quantity,
                    "reason": sale.reason,
                    "note": sale.note,
                    "seller": sale.seller.get_username(),
                    "approver": values["approver"],
                },
            )
        )
    OrderEvent.objects.bulk_create(events)


def _unbooked_refuse_unpaid(takes: list[_Take]) -> None:
    """An item the books do not have here (sold anyway, approved) leaves with the
    customer at once: it cannot be held for a payment to come."""
    for take in takes:
        if take.unbooked is not None and take.line.fulfilment == Fulfilment.TAKEN_NOW:
            raise InvalidFulfilment(
                _(
                    "%(sku)s is not in the books here: sold anyway, it must be paid now, "
                    "at the till."
                )
                % {"sku": take.line.priced.line.variant.sku},
                sku=take.line.priced.line.variant.sku,
            )


def _known(queryset, *, rows=None, bulk_create=None):
    """A queryset whose rows are already known (just written): ``order.lines.all()``
    answers without a query, and ``order.lines.filter(...)`` still queries."""
    if bulk_create is not None:
        rows = queryset.model.objects.bulk_create(bulk_create)
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    return queryset


def order_place_taken_now(
    *, cart: Cart, location: Location, user: AbstractBaseUser | None = None
) -> Order:
    """A till sale: every line of the cart leaves ``location`` now, the order is
    fulfilled at once. The till takes payment itself (no payment hand-over)."""
    return order_checkout(
        cart=cart,
        channel=cart.channel,
        payment_method=None,
        till_location=location,
        default_choice=LineChoice(Fulfilment.TAKEN_NOW, location),
        user=user,
    )
