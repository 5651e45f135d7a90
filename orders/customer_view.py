"""Orders' side of the customer: the 360° view, the figures behind the segments, and what
orders does when customers merges or erases someone.

customers sits below orders and cannot import it, so orders plugs in from
``OrdersConfig.ready`` (``connect``): a panel of the 360° page and a section of the GDPR
export (``customers.registry``), and receivers of ``customer_merging`` and
``customer_erased`` (``customers.signals``).

``customer_figures_refresh`` computes ``order_count``, ``lifetime_value``,
``last_purchase_at``, ``preferred_channel``, ``behaviour`` and the RFM scores and segment
(rules in ``customers.segments``) in three set-based statements, for some customers or
all; the Celery task ``orders.customer_figures_refresh`` runs it for all every night.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Count, DecimalField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import SalesChannel
from customers.models import Customer
from customers.registry import customer_panel, export_section
from customers.segments import RfmSegment
from customers.signals import customer_erased, customer_merging
from orders.events import ORDER_PLACED
from orders.models import Cart, CartEvent, Order, OrderEvent, Return
from orders.selectors import orders_visible_to
from unicommerce.events.registry import mergeable, subscribe
from unicommerce.exceptions import DomainError

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

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
    returned = (
        Return.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    listed = Order.objects.filter(customer=customer)
    if viewer is not None:
        listed = orders_visible_to(viewer, listed)
    orders = list(
        listed.select_related("channel", "origin_channel")
        .annotate(
            returned_amount=Coalesce(
                Subquery(returned, output_field=_MONEY), Value(0), output_field=_MONEY
            )
        )
        .order_by("-created_at", "-id")[:ORDERS_SHOWN]
    )
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
    now = timezone.now()
    carts = list(
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
        .select_related("channel")
        .annotate(line_count=Count("lines"), item_count=Coalesce(Sum("lines__quantity"), 0))
        .order_by("-updated_at", "-id")
    )
    abandoned = [
        cart
        for cart in carts
        if cart.line_count
        and (
            (cart.expires_at is not None and cart.expires_at <= now)
            or cart.updated_at <= now - ABANDONED_AFTER
        )
    ]
    return CustomerOverview(
        customer=customer,
        orders=orders,
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


def _counted_statuses() -> list[str]:
    return [status for status in Order.Status.values if status != Order.Status.CANCELLED]


@customer_panel(_("Orders, carts and returns"), order=10)
def orders_panel(customer: Customer, viewer) -> tuple[str, dict[str, Any]]:
    overview = customer_overview(customer, viewer=viewer)
    return "admin/customers/panels/orders.html", {"overview": overview}


# --- Figures and segments -------------------------------------------------------------

_FIGURES_SQL = """
WITH counted AS (
    SELECT o.id, o.customer_id, o.channel_id, o.created_at,
           o.total_amount - COALESCE(
               (SELECT sum(r.amount) FROM {return_table} r WHERE r.order_id = o.id), 0
           ) AS net_amount,
           ch.kind = 'store' OR och.kind = 'store' AS in_store,
           ch.kind <> 'store' OR och.kind <> 'store' AS online
      FROM {order_table} o
      JOIN {channel_table} ch ON ch.id = o.channel_id
      LEFT JOIN {channel_table} och ON och.id = o.origin_channel_id
     WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled' {order_filter}
),
totals AS (
    SELECT customer_id, count(*) AS n, GREATEST(sum(net_amount), 0) AS ltv,
           max(created_at) AS last_at, bool_or(in_store) AS in_store, bool_or(online) AS online
      FROM counted GROUP BY customer_id
),
preferred AS (
    SELECT DISTINCT ON (customer_id) customer_id, channel_id
      FROM counted
     GROUP BY customer_id, channel_id
     ORDER BY customer_id, count(*) DESC, max(created_at) DESC, channel_id
),
computed AS (
    SELECT c.id,
           COALESCE(t.n, 0) AS n,
           COALESCE(t.ltv, 0) AS ltv,
           t.last_at,
           p.channel_id AS preferred_id,
           CASE WHEN t.n IS NULL THEN 'none'
                WHEN t.in_store AND t.online THEN 'omnichannel'
                WHEN t.in_store THEN 'store_only'
                ELSE 'online_only' END AS behaviour
      FROM {customer_table} c
      LEFT JOIN totals t ON t.customer_id = c.id
      LEFT JOIN preferred p ON p.customer_id = c.id
     WHERE TRUE {customer_filter}
)
UPDATE {customer_table} c
   SET order_count = x.n, lifetime_value = x.ltv, last_purchase_at = x.last_at,
       preferred_channel_id = x.preferred_id, behaviour = x.behaviour,
       figures_updated_at = statement_timestamp()
  FROM computed x
 WHERE c.id = x.id
"""

_RFM_SQL = """
WITH ranked AS (
    SELECT id, order_count AS n,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY last_purchase_at)))::int AS r,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY order_count)))::int AS f,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY lifetime_value)))::int AS m
      FROM {customer_table}
     WHERE order_count > 0 AND merged_into_id IS NULL AND erased_at IS NULL
),
segmented AS (
    SELECT id, r, f, m, CASE {segment_cases} END AS segment FROM ranked
)
UPDATE {customer_table} c
   SET rfm_recency = s.r, rfm_frequency = s.f, rfm_monetary = s.m, rfm_segment = s.segment
  FROM segmented s
 WHERE c.id = s.id
   AND (c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.rfm_segment)
       IS DISTINCT FROM (s.r, s.f, s.m, s.segment)
"""

_RFM_CLEAR_SQL = """
UPDATE {customer_table}
   SET rfm_recency = NULL, rfm_frequency = NULL, rfm_monetary = NULL, rfm_segment = ''
 WHERE (order_count = 0 OR merged_into_id IS NOT NULL OR erased_at IS NOT NULL)
   AND (rfm_recency IS NOT NULL OR rfm_segment <> '')
"""


def _tables() -> dict[str, str]:
    return {
        "customer_table": Customer._meta.db_table,
        "order_table": Order._meta.db_table,
        "return_table": Return._meta.db_table,
        "channel_table": SalesChannel._meta.db_table,
    }


def _segment_cases() -> str:
    return " ".join(f"WHEN {condition} THEN '{name}'" for name, condition in RfmSegment.rules)


def customer_figures_refresh(*, customer_ids: Iterable[int] | None = None, rfm: bool = True) -> int:
    """Recompute the figures of ``customer_ids`` (all customers when None), then the RFM
    scores and segments of everyone (quintiles are relative, so one customer's new order
    can move others; ``rfm=False`` leaves them to the nightly run). Returns how many
    customers' figures were written.

    Three statements, whatever the number of customers: figures (one UPDATE … FROM an
    aggregate), RFM scores with window functions, and clearing the scores of customers
    without counted orders. Rules: ``customers.segments``.
    """
    tables = _tables()
    params: list[Any] = []
    order_filter = customer_filter = ""
    if customer_ids is not None:
        ids = sorted({int(pk) for pk in customer_ids})
        if not ids:
            return 0
        order_filter = "AND o.customer_id = ANY(%s)"
        customer_filter = "AND c.id = ANY(%s)"
        params = [ids, ids]
    figures_sql = _FIGURES_SQL.format(
        **tables, order_filter=order_filter, customer_filter=customer_filter
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(figures_sql, params)
        written = cursor.rowcount
        if rfm:
            cursor.execute(_RFM_SQL.format(**tables, segment_cases=_segment_cases()))
            cursor.execute(_RFM_CLEAR_SQL.format(**tables))
    return written


def _merge_customers(payloads: list[dict]) -> dict:
    ids = {p.get("customer_id") for p in payloads}
    return {"customer_ids": sorted(i for i in ids if i)}


mergeable(ORDER_PLACED, _merge_customers)


@subscribe(ORDER_PLACED)
def on_order_placed(event) -> None:
    """A customer's order count, lifetime value, last purchase, preferred channel and
    behaviour follow each order within moments (the outbox consumer, batched); their RFM
    quintiles, relative to everyone, are recomputed by the periodic task."""
    payload = event.payload
    ids = payload.get("customer_ids") or [payload.get("customer_id")]
    ids = [i for i in ids if i]
    if ids:
        customer_figures_refresh(customer_ids=ids, rfm=False)


# --- Merge and erase ------------------------------------------------------------------


def _open_carts(customer: Customer) -> list[Cart]:
    now = timezone.now()
    return list(
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-updated_at", "-id")
    )


def on_customer_merging(sender, *, survivor: Customer, duplicate: Customer, user=None, **kwargs):
    """Two open carts become one: the duplicate's open carts are merged into the
    survivor's latest open cart (``cart_merge``: quantities of the same variant add up).
    Other carts and every order simply follow the customer (customers moves them)."""
    targets = _open_carts(survivor)
    if targets:
        from orders.services import carts as cart_services

        cart_merge = getattr(cart_services, "cart_merge", None)
        for source in _open_carts(duplicate):
            if cart_merge is None:
                break  # customers' generic move takes the cart as it is
            try:
                with transaction.atomic():
                    cart_merge(source=source, target=targets[0])
            except DomainError as error:
                # Closed or expired meanwhile: it follows the customer unmerged.
                logger.info("cart %s not merged into %s: %s", source.pk, targets[0].pk, error)
    transaction.on_commit(
        partial(customer_figures_refresh, customer_ids=[survivor.pk, duplicate.pk])
    )


def orders_customer_erase(*, customer_ids: list[int], identity=None) -> None:
    """GDPR erasure, orders' part: blank the contact details copied on the customers'
    orders (and on guest orders that carry their address or number), and scrub the
    timeline entries and cart events of those orders and carts that name them; amounts,
    lines, the timeline itself and returns stay (accounting must keep them). Carts hold
    no contact copy."""
    contact = Q(customer_id__in=customer_ids)
    for email in getattr(identity, "emails", ()):
        contact |= Q(email__iexact=email)
    for phone in getattr(identity, "phones", ()):
        contact |= Q(phone=phone)
    order_ids = list(Order.objects.filter(contact).values_list("pk", flat=True))
    Order.objects.filter(pk__in=order_ids).update(email="", phone="", shipping_address=None)
    if identity is None or not identity.patterns:
        return
    events = [
        (OrderEvent.objects.filter(order_id__in=order_ids), "message"),
        (CartEvent.objects.filter(cart__customer_id__in=customer_ids), None),
    ]
    for queryset, text_field in events:
        named = Q()
        for pattern in identity.patterns:
            named |= Q(data__icontains=pattern)
            if text_field:
                named |= Q(**{f"{text_field}__icontains": pattern})
        for row in queryset.filter(named):
            row.data = identity.scrub(row.data)
            fields = ["data"]
            if text_field and identity.mentioned_in(getattr(row, text_field)):
                setattr(row, text_field, "[erased]")
                fields.append(text_field)
            row.save(update_fields=fields)


def on_customer_erased(
    sender, *, customer: Customer, user=None, customer_ids=None, identity=None, **kwargs
):
    orders_customer_erase(customer_ids=customer_ids or [customer.pk], identity=identity)


@export_section("orders")
def orders_export(customer: Customer) -> list[dict[str, Any]]:
    """The customer's orders for the GDPR export: what they bought, where and how."""
    orders = (
        Order.objects.filter(customer=customer)
        .select_related("channel", "origin_channel")
        .prefetch_related("lines", "shipments", "returns__lines")
        .order_by("created_at", "id")
    )
    return [
        {
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
            "returns": [
                {
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
                for ret in order.returns.all()
            ],
        }
        for order in orders
    ]


@export_section("carts")
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


def connect() -> None:
    """Called by ``OrdersConfig.ready`` (the decorators above registered the panel and
    the export sections when this module was imported)."""
    customer_merging.connect(on_customer_merging, sender=Customer, dispatch_uid="orders.merge")
    customer_erased.connect(on_customer_erased, sender=Customer, dispatch_uid="orders.erase")
