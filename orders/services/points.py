"""Orders' part of loyalty points (docs/loyalty.md, "Points"): what an order earns once
paid, what a return takes back pro rata, and what a cancellation takes back.

The earnable base of an order is what its merchandise was paid, net of discounts:
the sum of its lines' ``total_amount`` (already net of every discount), without
gift-card products (a gift card is money, not merchandise: what it buys earns) and
cancelled lines, minus what was returned of those lines before the points were
earned. Each movement has a stable key (``order:<id>:earn``, ``return:<id>``,
``order:<id>:cancel``), so a replayed event writes nothing twice. The ledger
(``loyalty.services.points``) caps every take-back at what the order earned and at the
customer's balance.

Called by: ``payments.events`` on ``order.paid`` (earn); the return flow
(``return_points_reverse``) and the cancellation of a paid order
(``order_points_cancel``): ``orders.services.returns.return_create`` and
``orders.services.cancellation.order_cancel`` call them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Sum

from customers.models import Customer
from loyalty.models import PointsEntry
from loyalty.services.points import points_earn, points_reverse
from orders.models import Order, OrderLine, Return, ReturnLine

ZERO = Decimal("0.00")


def _earn_key(order: Order) -> str:
    return f"order:{order.pk}:earn"


def _earnable_lines(order: Order):
    return OrderLine.objects.filter(order_id=order.pk, variant__product__gift_card="").exclude(
        status=OrderLine.Status.CANCELLED
    )


def _returned(order: Order, **filters) -> Decimal:
    """What was returned of the order's earnable lines (returns matching ``filters``)."""
    total = ReturnLine.objects.filter(
        ret__order_id=order.pk, order_line__in=_earnable_lines(order), **filters
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def order_points_base(order: Order, *, returned_before: datetime | None = None) -> Decimal:
    """The order's earnable base: its earnable lines' totals minus what was returned of
    them (only the returns made before ``returned_before``, when given). Never
    negative."""
    gross = _earnable_lines(order).aggregate(total=Sum("total_amount"))["total"] or ZERO
    filters = {"ret__created_at__lt": returned_before} if returned_before else {}
    return max(gross - _returned(order, **filters), ZERO)


def order_points_earn(order: Order) -> PointsEntry | None:
    """The points a paid order earns its customer, under the active programme of its
    currency and channel (``None``: no customer, not paid, cancelled, nothing earnable,
    no programme). Idempotent (key ``order:<id>:earn``)."""
    order = Order.objects.get(pk=order.pk)
    paid = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)
    if order.customer_id is None or order.status == Order.Status.CANCELLED:
        return None
    if order.payment_status not in paid:
        return None
    base = order_points_base(order)
    if base <= 0:
        return None
    return points_earn(
        customer=Customer(pk=order.customer_id),
        amount=base,
        currency=order.currency,
        channel_id=order.channel_id,
        reference=order.reference,
        idempotency_key=_earn_key(order),
    )


def _share(earned: int, part: Decimal, base: Decimal) -> int:
    """The points of ``earned`` that ``part`` of ``base`` stands for (rounded down; all
    of them for the whole base)."""
    if part >= base:
        return earned
    return int((Decimal(earned) * part / base).to_integral_value(rounding=ROUND_FLOOR))


def return_points_reverse(ret: Return) -> PointsEntry | None:
    """Take back, pro rata, the points the return's order earned: earned × what this
    return brings back of the earnable lines / the base the points were earned on
    (cumulative over the order's returns, so returning everything takes back exactly
    what was earned). A return made before the points were earned was already left
    out of the base: nothing then. Never below a zero balance (the ledger caps it and
    records it). Idempotent (key ``return:<id>``)."""
    ret = Return.objects.select_related("order").get(pk=ret.pk)
    order = ret.order
    earn = PointsEntry.objects.filter(idempotency_key=_earn_key(order)).first()
    if order.customer_id is None or earn is None or ret.created_at < earn.created_at:
        return None
    base = order_points_base(order, returned_before=earn.created_at)
    since = {"ret__created_at__gte": earn.created_at}
    with_this = _returned(order, ret__id__lte=ret.pk, **since)
    before_this = _returned(order, ret__id__lt=ret.pk, **since)
    if base <= 0 or with_this <= before_this:
        return None
    take = _share(earn.points, with_this, base) - _share(earn.points, before_this, base)
    if take <= 0:
        return None
    return points_reverse(
        customer=Customer(pk=order.customer_id),
        points=-take,
        reference=order.reference,
        idempotency_key=f"return:{ret.pk}",
    )


def order_points_cancel(order: Order) -> PointsEntry | None:
    """A paid order cancelled: every point it earned and still has is taken back (never
    below a zero balance). Idempotent (key ``order:<id>:cancel``). Points redeemed on
    it come back with the refund of the points payment (``payments.gateways.points``)."""
    order = Order.objects.get(pk=order.pk)
    earn = PointsEntry.objects.filter(idempotency_key=_earn_key(order)).first()
    if order.customer_id is None or earn is None:
        return None
    return points_reverse(
        customer=Customer(pk=order.customer_id),
        points=-earn.points,
        reference=order.reference,
        idempotency_key=f"order:{order.pk}:cancel",
    )
