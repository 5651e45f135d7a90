"""Checkout's writes of the order: the order with its "placed" timeline entry (the cart
checked out, the ``order.placed`` event), its shipments, and its lines.

``orders.services.checkout`` calls these in order: ``checkout_order_insert``, then
``checkout_shipments_create``, then takes the stock (``orders.services.checkout_stock``:
the hot stock rows stay locked for as little as possible), then ``checkout_lines_create``
with the reservations it made.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils.translation import gettext as _

from inventory.models import Location
from orders.conf import cart_ttl
from orders.events import ORDER_PLACED
from orders.exceptions import CartClosed
from orders.models import (
    Cart,
    CartDiscount,
    CartEvent,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
)
from orders.pricing.allocation import allocate
from orders.pricing.engine import AppliedDiscount
from orders.services.checkout_plan import StockTake
from unicommerce.channels.models import SalesChannel
from unicommerce.events.services import event_insert_sql, event_relay_after_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def _taken_now(take: StockTake, hold_taken_now: bool) -> bool:
    """Does this take leave the store now? (Only when the order is paid now.)"""
    return take.line.fulfilment == Fulfilment.TAKEN_NOW and not hold_taken_now


def checkout_order_insert(
    *,
    cart: Cart,
    origin: SalesChannel,
    channel: SalesChannel,
    total_amount: Decimal,
    discount_amount: Decimal,
    takes: list[StockTake],
    hold_taken_now: bool,
    method_code: str,
    email: str,
    phone: str,
    address: dict | None,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> Order:
    """The order (fulfilled already when everything is taken now and paid), its
    "placed" timeline entry, the cart checked out, and the ``order.placed`` event."""
    taken_now = [_taken_now(take, hold_taken_now) for take in takes]
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
        total_amount=total_amount,
        discount_amount=discount_amount,
        payment_method=method_code,
        email=email or (customer.email if customer and customer.email else ""),
        phone=phone or (customer.phone if customer and customer.phone else ""),
        shipping_address=address,
        created_by=actor,
    )
    kinds = sorted({t.line.fulfilment for t in takes})
    held = hold_taken_now and Fulfilment.TAKEN_NOW in kinds
    placed = OrderEvent(
        kind="placed",
        message=_placed_message(origin, channel)[:255],
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
    return order


def _placed_message(origin: SalesChannel, channel: SalesChannel) -> str:
    if origin.pk != channel.pk:
        return _("Cart filled on %(origin)s, checked out on %(channel)s.") % {
            "origin": origin.name,
            "channel": channel.name,
        }
    return _("Placed on %(channel)s.") % {"channel": channel.name}


# Measured (bench/bench_checkout.py, 8 buyers, 10 s, on a shared 2-core machine, issue 13):
# the same writes through the ORM (the cart's conditional update, Order.objects.create,
# the timeline entry, the cart event, event_publish) are 5 statements instead of this
# one: 36 instead of 32 per web checkout journey (+12 %), 20 instead of 16 for the
# checkout request (pinned by tests/api/test_orders_api.py), and 40.5 instead of 36.3 ms
# of web-worker CPU per checkout (+12 %), all inside the transaction holding the cart's
# lock (orders/s and p99 were within the machine's noise: 5.2 vs 5.3/s, 2740 vs 2688 ms).
# Past the 10 % allowed, so the hand-written statement stays; ``_insert_parts`` keeps it
# in step with the models' fields.


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


def _order_insert_sql(*, order_parts: tuple, event_parts: tuple, outbox_into: str) -> str:
    """The statement of ``_order_insert``: the order, its timeline entry, the cart
    checked out (only if still open) with its event, the outbox event; it answers the
    order's id and timestamps, and whether the cart was still open."""
    (order_columns, order_values), (event_columns, event_values) = order_parts, event_parts
    return f"""
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
            {outbox_into}
            SELECT %s, %s,
                   %s || jsonb_build_object('order_id', new_order.id,
                                            'reference', {_REFERENCE_SQL}),
                   now(), 0, ''
              FROM new_order
        )
        SELECT new_order.id, new_order.created_at, new_order.updated_at,
               (SELECT count(*) FROM touched)
          FROM new_order
    """  # noqa: S608 - table and column names come from the models


def _order_insert(
    *, order: Order, placed: OrderEvent, cart: Cart, channel: SalesChannel, now: datetime
) -> None:
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
    sql = _order_insert_sql(
        order_parts=(order_columns, order_values),
        event_parts=(event_columns, event_values),
        outbox_into=outbox.into,
    )
    expires_at = now + cart_ttl()
    cart_params = [expires_at, Cart.Status.CHECKED_OUT, now, cart.pk]
    cart_event_params = [CartEvent.Kind.CHECKED_OUT, channel.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*order_params, *event_params, *cart_params, *cart_event_params, *outbox.params]
        )
        order.pk, order.created_at, order.updated_at, touched = cursor.fetchone()
    if not touched:
        raise CartClosed()
    order._state.adding, order._state.db = False, "default"
    event_relay_after_commit(outbox.event_id)
    cart.status, cart.checked_out_at, cart.expires_at = Cart.Status.CHECKED_OUT, now, expires_at


def checkout_shipments_create(
    takes: list[StockTake],
    *,
    order: Order,
    locations: dict[int, Location],
    hold_taken_now: bool,
    now: datetime,
) -> dict[tuple[str, int], Shipment]:
    """One shipment per (fulfilment, location), in the order lines first need them;
    goods taken now (and paid) are taken already."""
    groups: dict[tuple[str, int], Shipment] = {}
    for take in takes:
        key = (take.line.fulfilment, take.location_id)
        if key not in groups:
            is_taken = _taken_now(take, hold_taken_now)
            groups[key] = Shipment(
                order=order,
                kind=take.line.fulfilment,
                location=locations[take.location_id],
                status=Shipment.Status.TAKEN if is_taken else Shipment.Status.PENDING,
                collected_at=now if is_taken else None,
            )
    Shipment.objects.bulk_create(groups.values())
    return groups


def checkout_lines_create(
    takes: list[StockTake],
    *,
    order: Order,
    shipments: dict[tuple[str, int], Shipment],
    reservations: dict[tuple[int, int], int],
    locations: dict[int, Location],
    hold_taken_now: bool,
    actor: AbstractBaseUser | None,
) -> None:
    """The order's lines (one per take, with its shipment and reservation), and the
    timeline entries of lines sold though not in the books. ``order.lines.all()`` and
    ``order.shipments.all()`` then answer without a query."""
    if any(take.unbooked for take in takes):
        _unbooked_timeline(
            takes, order=order, channel=order.channel, actor=actor, locations=locations
        )
    order_lines = []
    amounts = _take_amounts(takes, _manual_people(order, takes))
    for take, (total, discount, vat, discounts) in zip(takes, amounts, strict=True):
        priced = take.line.priced
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
                total_amount=total,
                discount_amount=discount,
                discounts=discounts,
                vat_amount=vat,
                fulfilment=take.line.fulfilment,
                location=locations[take.location_id],
                status=OrderLine.Status.FULFILLED
                if _taken_now(take, hold_taken_now)
                else OrderLine.Status.OPEN,
                shipment=shipments[(take.line.fulfilment, take.location_id)],
                reservation_id=reservations.get((take.variant_id, take.location_id)),
            )
        )
    order._prefetched_objects_cache = {
        "lines": _known(OrderLine.objects.filter(order=order), bulk_create=order_lines),
        "shipments": _known(Shipment.objects.filter(order=order), rows=list(shipments.values())),
    }


def _manual_people(order: Order, takes: list[StockTake]) -> dict[int, dict]:
    """Who gave each manual discount of the cart, and who approved it above their cap
    (kept on the line's record: the receipt and the audit show them). One query, only
    when the cart has manual discounts."""
    if not any(d.source == "manual" for t in takes for d in t.line.priced.discounts):
        return {}
    rows = CartDiscount.objects.filter(cart_id=order.cart_id).values_list(
        "pk", "created_by__username", "approved_by__username"
    )
    return {
        pk: {"given_by": given, **({"approved_by": approved} if approved else {})}
        for pk, given, approved in rows
    }


def _discount_record(applied: AppliedDiscount, amount: Decimal, people: dict) -> dict:
    record = {
        "source": applied.source,
        "id": applied.source_id,
        "stage": applied.stage,
        "label": applied.label,
        "amount": str(amount),
    }
    if applied.code:
        record["code"] = applied.code
    if applied.source == "manual":
        record.update(people.get(applied.source_id, {}))
    return record


def _take_amounts(
    takes: list[StockTake], people: dict[int, dict]
) -> list[tuple[Decimal, Decimal, Decimal, list]]:
    """Each take's total, discount, VAT and discounts: its cart line's, or, when a line
    is split over locations, the line's amounts spread over its takes in proportion to
    their quantities (largest remainder: the takes sum exactly to the line; each
    discount's record is spread the same way, the take's ``discount_amount`` is the
    authoritative figure)."""
    by_line: dict[int, list[int]] = {}
    for index, take in enumerate(takes):
        by_line.setdefault(take.line.priced.line.pk, []).append(index)
    amounts: list = [None] * len(takes)
    for indexes in by_line.values():
        priced = takes[indexes[0]].line.priced
        if len(indexes) == 1:
            records = [_discount_record(d, d.amount, people) for d in priced.discounts]
            amounts[indexes[0]] = (
                priced.total_amount,
                priced.discount_amount,
                priced.vat_amount,
                records,
            )
            continue
        weights = [priced.unit_price_amount * takes[i].quantity for i in indexes]
        discounts = allocate(priced.discount_amount, weights)
        totals = [weight - discount for weight, discount in zip(weights, discounts, strict=True)]
        vats = allocate(priced.vat_amount, totals)
        shares = [allocate(d.amount, weights) for d in priced.discounts]
        for position, index in enumerate(indexes):
            records = [
                _discount_record(d, share[position], people)
                for d, share in zip(priced.discounts, shares, strict=True)
                if share[position]
            ]
            amounts[index] = (totals[position], discounts[position], vats[position], records)
    return amounts


def _unbooked_timeline(
    takes: list[StockTake],
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


def _known(queryset, *, rows=None, bulk_create=None):
    """A queryset whose rows are already known (just written): ``order.lines.all()``
    answers without a query, and ``order.lines.filter(...)`` still queries."""
    if bulk_create is not None:
        rows = queryset.model.objects.bulk_create(bulk_create)
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    return queryset
