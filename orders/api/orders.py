"""Orders over the front-end API: one order's status, fulfilment and tracking, and the
signed-in customer's orders."""

from __future__ import annotations

import re

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.api.serializers import (
    OrderOutputSerializer,
    OrderSummaryOutputSerializer,
    order_payload,
)
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderEvent, OrderLine, Shipment
from orders.selectors import order_visible_to
from unicommerce.api.errors import error_responses
from unicommerce.api.pagination import CursorPagination
from unicommerce.api.permissions import channel_of

REFERENCE = re.compile(r"^UC(\d{1,12})$", re.IGNORECASE)


def order_detail_queryset():
    """An order with everything its page shows, in four queries."""
    return Order.objects.select_related("channel", "origin_channel").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("location")),
        Prefetch("shipments", queryset=Shipment.objects.select_related("location")),
        Prefetch("events", queryset=OrderEvent.objects.select_related("channel")),
    )


def order_visible(request, order: Order) -> bool:
    """A customer sees their own orders, a channel's secret key those placed on or carted
    on its channel, staff those of their stores (head office: all)."""
    customer = getattr(request.user, "customer", None)
    if customer is not None:
        return order.customer_id == customer.pk
    channel = channel_of(request)
    if channel is not None:
        return channel.pk in (order.channel_id, order.origin_channel_id)
    return order_visible_to(request.user, order)


ERRORS = {
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key or user.",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


class OrderDetailView(APIView):
    @extend_schema(
        summary="An order: status, lines with fulfilment and location, shipments with "
        "carrier and tracking, public timeline",
        description="Readable by the secret key of the channel that placed the order or "
        "whose cart it was, by the customer's own token, and by the staff of its stores "
        "(head office: all). Not with a publishable key: order references follow each "
        "other, and an order names its customer.",
        responses={
            200: OrderOutputSerializer,
            **errors(**{"404": "No such order for this caller (order_not_found)."}),
        },
    )
    def get(self, request, reference: str):
        match = REFERENCE.match(reference.strip())
        order = None
        if match:
            order = order_detail_queryset().filter(pk=int(match.group(1))).first()
        if order is None or not order_visible(request, order):
            raise OrderNotFound(reference)
        return Response(order_payload(order))


class NewestFirst(CursorPagination):
    ordering = "-id"


@extend_schema(
    summary="The signed-in customer's orders, newest first, from every channel",
    responses={200: OrderSummaryOutputSerializer(many=True), **errors()},
)
class MyOrdersView(generics.ListAPIView):
    serializer_class = OrderSummaryOutputSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Order.objects.none()
        return Order.objects.select_related("channel", "origin_channel").filter(
            customer=self.request.user.customer
        )
