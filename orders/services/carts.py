"""Writing carts: creating, opening, lines, fulfilment choices, merging, cart events.

A cart is a server-side object opened by its unguessable token from any channel: the web
front end fills it, the POS opens the very same cart when the customer walks in. Every
write pushes ``expires_at`` forward (``CART_TTL_DAYS``) and records a ``CartEvent`` with
the channel that acted, in the same statement that checks the cart is still open: a
write racing a checkout either lands before it or fails with ``CartClosed``.
Prices and availability are never stored on a cart: ``orders.pricing.cart_price`` and
``orders.selectors.cart_view`` recompute them on every read. Identifying the customer of
a cart is ``orders.services.cart_identity``.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from catalog.models import Variant
from customers.models import Customer
from inventory.exceptions import InvalidQuantity
from inventory.models import Location
from orders.conf import cart_ttl
from orders.exceptions import CartClosed, CartExpired, InvalidFulfilment
from orders.models import Cart, CartDiscount, CartEvent, CartLine, CartVoucher, Fulfilment
from orders.selectors import cart_is_expired, cart_line_get
from unicommerce.channels.models import SalesChannel
from unicommerce.converters import count_or_none
from unicommerce.exceptions import InvalidInput

Kind = CartEvent.Kind


# --- writing a cart ------------------------------------------------------------------

_CART = Cart._meta.db_table
_EVENT = CartEvent._meta.db_table
_SETTABLE = {"customer_id", "status", "merged_into_id", "checked_out_at"}


_TOUCH_EVENT = f"""
    INSERT INTO {_EVENT} (cart_id, kind, channel_id, variant_id, quantity, data, at)
    SELECT id, %s, %s, %s, %s, %s, now() FROM touched
    RETURNING id
"""  # noqa: S608 - table names come from the models


def _touch_sql(
    set_fields: dict[str, Any], *, where_customer_is_null: bool, guard_sql: str, then_sql: str
) -> str:
    """The statement of ``_touch``: the cart's conditional update, its event, then
    ``then_sql`` if any (column names of ``set_fields`` checked against a whitelist)."""
    if not set_fields.keys() <= _SETTABLE:
        raise ValueError(f"cannot set {sorted(set_fields.keys() - _SETTABLE)}")
    assignments = "".join(f", {name} = %s" for name in set_fields)
    extra_where = " AND customer_id IS NULL" if where_customer_is_null else ""
    tail = f", event AS ({_TOUCH_EVENT}) {then_sql}" if then_sql else _TOUCH_EVENT
    return f"""
        WITH touched AS (
            UPDATE {_CART} SET updated_at = now(), expires_at = %s{assignments}
             WHERE id = %s AND status = 'open'{extra_where}{guard_sql}
            RETURNING id
        )
        {tail}
    """  # noqa: S608 - table and column names come from the models / a whitelist


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
    guard_sql, guard_params = guard or ("", [])
    then_sql, then_params = then or ("", [])
    sql = _touch_sql(
        set_fields,
        where_customer_is_null=where_customer_is_null,
        guard_sql=guard_sql,
        then_sql=then_sql,
    )
    expires_at = timezone.now() + cart_ttl()
    channel_id = channel.pk if channel is not None else cart.channel_id
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
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
                *then_params,
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


def cart_writable_check(cart: Cart) -> None:
    """Refuse to write to a cart that is checked out, merged or expired."""
    if cart.checked_out_at is not None or cart.status != Cart.Status.OPEN:
        raise CartClosed()
    if cart_is_expired(cart):
        raise CartExpired(cart.expires_at)


def fulfilment_check(fulfilment: str, location: Location | None) -> None:
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
# Add to the line of this variant, or create it; a fulfilment choice given replaces it.
_LINE_UPSERT = f"""
    INSERT INTO {_LINE} (cart_id, variant_id, quantity, fulfilment, location_id, added_at)
    SELECT id, %s, %s, %s, %s, now() FROM touched
    ON CONFLICT (cart_id, variant_id) DO UPDATE
       SET quantity = {_LINE}.quantity + EXCLUDED.quantity,
           fulfilment = CASE WHEN %s THEN EXCLUDED.fulfilment ELSE {_LINE}.fulfilment END,
           location_id = CASE WHEN %s THEN EXCLUDED.location_id ELSE {_LINE}.location_id END
    RETURNING id, quantity, fulfilment, location_id, added_at
"""  # noqa: S608 - table names come from the models, values are parameters
# The line has room for ``quantity`` more: else the cart is not written to at all.
_LINE_ROOM = f"""
    AND NOT EXISTS (SELECT 1 FROM {_LINE}
                     WHERE cart_id = %s AND variant_id = %s AND quantity > %s)
"""  # noqa: S608 - table names come from the models, values are parameters


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
    fulfilment_check(fulfilment, location)
    cart_writable_check(cart)
    chosen = bool(fulfilment)
    location_id = location.pk if location else None
    try:
        line_id, total, chosen_fulfilment, location_id, added_at = _touch(
            cart,
            kind=Kind.LINE_ADDED,
            channel=channel,
            variant_id=variant.pk,
            quantity=quantity,
            guard=(_LINE_ROOM, [cart.pk, variant.pk, MAX_LINE_QUANTITY - quantity]),
            then=(_LINE_UPSERT, [variant.pk, quantity, fulfilment, location_id, chosen, chosen]),
        )
    except CartClosed:
        _line_too_full_check(cart, variant, quantity)
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


def _line_too_full_check(cart: Cart, variant: Variant, quantity: int) -> None:
    """An add was refused: the cart is closed, or the line is too full (the guard); only
    now is the line read, to say which (``LineQuantityTooLarge``)."""
    lines = CartLine.objects.filter(cart=cart, variant=variant)
    held = lines.values_list("quantity", flat=True).first()
    if held is not None and held + quantity > MAX_LINE_QUANTITY:
        raise LineQuantityTooLarge(held + quantity) from None


@transaction.atomic
def cart_line_set_quantity(
    *, cart: Cart, line_id: int, quantity: int, channel: SalesChannel | None = None
) -> CartLine | None:
    """Set a line's quantity; zero removes the line (and returns None)."""
    _check_quantity(quantity, zero_allowed=True)
    cart_writable_check(cart)
    line = cart_line_get(cart, line_id)
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
    fulfilment_check(fulfilment, location)
    cart_writable_check(cart)
    line = cart_line_get(cart, line_id)
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


def cart_customer_attach(
    *, cart: Cart, customer: Customer, data: dict[str, Any], channel: SalesChannel | None = None
) -> Cart:
    """Attach a cart that has no customer yet to ``customer``, with an "identified"
    event carrying ``data``: one statement, ``CartClosed`` if the cart is closed or
    already someone's (``orders.services.cart_identity`` decides when)."""
    _touch(
        cart,
        kind=Kind.IDENTIFIED,
        channel=channel,
        data=data,
        set_fields={"customer_id": customer.pk},
        where_customer_is_null=True,
    )
    cart.customer = customer
    return cart


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
        cart_writable_check(cart)
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
    # The till's manual discounts stay with the till's cart; codes follow the lines.
    CartDiscount.objects.filter(cart_id=source.pk).delete()
    CartVoucher.objects.filter(cart_id=source.pk).exclude(
        voucher_id__in=CartVoucher.objects.filter(cart_id=target.pk).values("voucher_id")
    ).update(cart_id=target.pk)
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
    cart_writable_check(cart)
    if channel.pk != cart.channel_id:
        _touch(cart, kind=Kind.OPENED, channel=channel, data={"from": cart.channel_id})
    return cart


def cart_event_record(
    *, cart: Cart, kind: str, channel: SalesChannel | None = None, data: dict | None = None
) -> CartEvent:
    """Record an event without changing the cart (for callers outside this module)."""
    return CartEvent.objects.create(
        cart=cart, kind=kind, channel_id=channel.pk if channel else cart.channel_id, data=data or {}
    )
