"""crm's reads: the 360° view of a customer (what every app knows of them, live) and the
GDPR export (everything kept about them, every app's part assembled here).

crm sits above customers, orders, payments and loyalty, so it reads their models
directly; the figures kept on the customer row are written by ``crm.services.figures``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from customers.services.gdpr import customers_customer_export
from orders.models import Cart, Order, Return
from orders.selectors import orders_visible_to
from unicommerce.channels.models import SalesChannel

# An open cart with lines, untouched for this long, counts as abandoned.
ABANDONED_AFTER = timedelta(hours=24)
# Orders listed on the 360° page (the figures count them all).
ORDERS_SHOWN = 50

_COUNTED = ~Q(status=Order.Status.CANCELLED)
_MONEY = DecimalField(max_digits=14, decimal_places=2)


# --- The 360° view --------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    orders: list[Order]  # latest first, with .returned_amount, channels selected
    order_count: int  # counted orders (not cancelled), all of them
    lifetime_value: Decimal
    last_purchase_at: datetime | None
    preferred_channel: SalesChannel | None
    channels: list[SalesChannel]  # every channel the customer bought on
    open_carts: list[Cart]  # with .line_count, .item_count
    abandoned_carts: list[Cart]
    returns: list[Return]


def customer_overview(customer: Customer, *, viewer=None) -> CustomerOverview:
    """Everything orders knows about a customer, live (not the nightly figures), for all
    channels, in a handful of queries. With a ``viewer`` (a member of staff), the orders
    listed are those of their stores (``orders.selectors``); the figures stay whole."""
    counted = Order.objects.filter(_COUNTED, customer=customer)
    figures = counted.aggregate(
        count=Count("id"),
        total=Coalesce(Sum("total_amount"), Value(0), output_field=_MONEY),
        last=Max("created_at"),
    )
    returned_total = Return.objects.filter(
        order__customer=customer, order__status__in=_counted_statuses()
    ).aggregate(total=Coalesce(Sum("amount"), Value(0), output_field=_MONEY))["total"]
    by_channel = list(
        counted.values("channel")
        .annotate(n=Count("id"), last=Max("created_at"))
        .order_by("-n", "-last", "channel")
    )
    channels = SalesChannel.objects.in_bulk([row["channel"] for row in by_channel])
    carts = _open_carts_counted(customer)
    abandoned = _abandoned(carts)
    return CustomerOverview(
        customer=customer,
        orders=_orders_listed(customer, viewer),
        order_count=figures["count"],
        lifetime_value=max(Decimal(0), figures["total"] - returned_total),
        last_purchase_at=figures["last"],
        preferred_channel=channels.get(by_channel[0]["channel"]) if by_channel else None,
        channels=[channels[row["channel"]] for row in by_channel],
        open_carts=[cart for cart in carts if cart not in abandoned],
        abandoned_carts=abandoned,
        returns=list(
            Return.objects.filter(order__customer=customer)
            .select_related("order", "channel")
            .order_by("-created_at", "-id")[:ORDERS_SHOWN]
        ),
    )


def _orders_listed(customer: Customer, viewer) -> list[Order]:
    """The latest orders, each with the amount returned on it."""
    returned = (
        Return.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    listed = Order.objects.filter(customer=customer)
    if viewer is not None:
        listed = orders_visible_to(viewer, listed)
    return list(
        listed.select_related("channel", "origin_channel")
        .annotate(
            returned_amount=Coalesce(
                Subquery(returned, output_field=_MONEY), Value(0), output_field=_MONEY
            )
        )
        .order_by("-created_at", "-id")[:ORDERS_SHOWN]
    )


def _open_carts_counted(customer: Customer) -> list[Cart]:
    return list(
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
        .select_related("channel")
        .annotate(line_count=Count("lines"), item_count=Coalesce(Sum("lines__quantity"), 0))
        .order_by("-updated_at", "-id")
    )


def _abandoned(carts: list[Cart]) -> list[Cart]:
    now = timezone.now()
    return [
        cart
        for cart in carts
        if cart.line_count
        and (
            (cart.expires_at is not None and cart.expires_at <= now)
            or cart.updated_at <= now - ABANDONED_AFTER
        )
    ]


def _counted_statuses() -> list[str]:
    return [status for status in Order.Status.values if status != Order.Status.CANCELLED]


# --- The GDPR export ------------------------------------------------------------------


def customer_export(customer: Customer) -> dict[str, Any]:
    """Everything kept about the customer, JSON-able: customers' part (the profile,
    addresses, the whole consent history, notes), then the orders and the open carts."""
    return {
        **customers_customer_export(customer),
        "orders": orders_export(customer),
        "carts": carts_export(customer),
    }


def orders_export(customer: Customer) -> list[dict[str, Any]]:
    """The customer's orders for the GDPR export: what they bought, where and how."""
    orders: QuerySet[Order] = (
        Order.objects.filter(customer=customer)
        .select_related("channel", "origin_channel")
        .prefetch_related("lines", "shipments", "returns__lines")
        .order_by("created_at", "id")
    )
    return [_order_exported(order) for order in orders]


def _order_exported(order: Order) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "created_at": order.created_at.isoformat(),
        "channel": order.channel.code,
        "cart_filled_on": order.origin_channel.code if order.origin_channel else None,
        "status": order.status,
        "currency": order.currency,
        "total_amount": str(order.total_amount),
        "payment_method": order.payment_method,
        "email": order.email,
        "phone": order.phone,
        "shipping_address": order.shipping_address,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_amount": str(line.unit_price_amount),
                "total_amount": str(line.total_amount),
                "fulfilment": line.fulfilment,
                "status": line.status,
            }
            for line in order.lines.all()
        ],
        "shipments": [
            {
                "kind": shipment.kind,
                "status": shipment.status,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
            }
            for shipment in order.shipments.all()
        ],
        "returns": [_return_exported(ret) for ret in order.returns.all()],
    }


def _return_exported(ret: Return) -> dict[str, Any]:
    return {
        "created_at": ret.created_at.isoformat(),
        "outcome": ret.outcome,
        "amount": str(ret.amount),
        "lines": [
            {
                "order_line_id": line.order_line_id,
                "quantity": line.quantity,
                "reason": line.reason,
            }
            for line in ret.lines.all()
        ],
    }


def carts_export(customer: Customer) -> list[dict[str, Any]]:
    """Carts still open (the token is a secret and is left out)."""
    carts = (
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
        .select_related("channel")
        .prefetch_related("lines__variant")
        .order_by("created_at", "id")
    )
    return [
        {
            "channel": cart.channel.code,
            "created_at": cart.created_at.isoformat(),
            "updated_at": cart.updated_at.isoformat(),
            "lines": [
                {"sku": line.variant.sku, "quantity": line.quantity} for line in cart.lines.all()
            ],
        }
        for cart in carts
    ]
