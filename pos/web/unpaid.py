"""The till's "waiting for payment" list: this store's orders not paid in full (placed
to be paid in store later, by a payment link not paid yet, partly paid), oldest first,
each opening the order's payment panel. Goods taken at the till for such an order stay
in the store until it is paid (``orders.services.checkout``): the list is where the
seller finds them again. Read only; the payment panel takes the money."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from orders.selectors import (
    orders_awaiting_payment_at,
    orders_holding_goods_at,
    orders_visible_to,
)
from pos.web.common import register_current, register_pick, seller_login_required

SHOWN = 50


@seller_login_required
@require_GET
def unpaid(request: HttpRequest) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    orders = list(
        orders_visible_to(request.user, orders_awaiting_payment_at(register.location_id))
        .select_related("customer", "channel")
        .order_by("created_at", "id")[:SHOWN]
    )
    held = orders_holding_goods_at(
        order_ids=[order.pk for order in orders], location_id=register.location_id
    )
    for order in orders:
        order.goods_held_here = order.pk in held
    return TemplateResponse(
        request, "pos/unpaid.html", {"register": register, "orders": orders, "shown": SHOWN}
    )
