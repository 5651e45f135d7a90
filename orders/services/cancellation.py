"""Cancelling an order: every line not yet fulfilled is cancelled and its reserved units
go back; the order ends cancelled, or fulfilled with what was handed over. Same steps as
every fulfilment operation (``orders.services.fulfilment``): lock, re-read, check,
change, record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.services.vouchers import vouchers_release
from orders.exceptions import OrderNotCancellable
from orders.locks import order_lock
from orders.models import Order, OrderLine
from orders.services.order_lines import (
    order_line_reservation_release,
    order_step_record,
    order_totals_recompute,
    shipment_close_if_empty,
)
from orders.services.points import order_points_cancel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

LS = OrderLine.Status


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    reason: str = "",
) -> Order:
    """Cancel every line not yet fulfilled and give its reserved units back.

    Nothing fulfilled yet: the whole order is cancelled. Otherwise only the open lines
    are, and the order ends fulfilled with what was handed over.
    """
    order = order_lock(order.pk)
    lines = list(
        OrderLine.objects.filter(order=order, status=LS.OPEN)
        .select_related("shipment")
        .order_by("variant_id", "location_id", "id")
    )
    if not lines:
        raise OrderNotCancellable(order)
    for line in lines:
        order_line_reservation_release(line, user)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=LS.CANCELLED)
    for shipment in {line.shipment for line in lines if line.shipment is not None}:
        shipment_close_if_empty(shipment)
    order_totals_recompute(order)
    order = order_step_record(
        order=order,
        kind="cancelled",
        message=reason[:255] or _("Cancelled."),
        data={"lines": [line.pk for line in lines], "reason": reason[:255]},
        user=user,
        channel=channel,
    )
    if order.status == Order.Status.CANCELLED:
        # The codes it used count again (a partly fulfilled order keeps them: it was
        # sold with its discounts), and the points it earned, if paid, are taken back.
        vouchers_release(reference=order.reference)
        order_points_cancel(order)
    return order
