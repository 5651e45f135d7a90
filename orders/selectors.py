"""Reads of orders shared by several faces: which orders, returns and carts a member of
staff may see (store scoping).

Store staff (sellers, store managers, a warehouse team) see what concerns the locations
they are staff of; head office (``inventory.all_locations``) sees everything
(``inventory.selectors.staff_location_ids``). An order concerns a location when it was
checked out on a store channel that location feeds (sold at its tills), or when one of
its lines is fulfilled there (taken now, collected, or shipped from it). A return
concerns the location that received it, and the locations of its order.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import SalesChannel
from inventory.selectors import staff_location_ids
from orders.models import Cart, Fulfilment, Order, OrderLine, Return


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
