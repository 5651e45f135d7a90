"""Orders built for fulfilment tests, without checkout: each line reserves its units at
its location through inventory's ``stock_reserve`` (as checkout does), and lines are
grouped into one pending shipment per (kind, location); taken-now lines are sold at once.

Import the fixtures into a test module with
``from tests.orders.fixtures_fulfilment import *  # noqa: F403``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_sell
from orders.models import Fulfilment, Order, OrderLine, Shipment
from orders.states import order_event_record, order_status_sync
from tests.factories import CustomerFactory
from unicommerce.money import money_round

__all__ = ["make_order"]


def level(variant, location) -> tuple[int, int]:
    """(on_hand, reserved) of a variant at a location."""
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.reserved) if found else (0, 0)


def sales(variant, location) -> list[tuple[str, int]]:
    """The ledger rows of a variant at a location, as (reason, quantity)."""
    return list(
        StockMovement.objects.filter(variant=variant, location=location)
        .order_by("id")
        .values_list("reason", "quantity")
    )


@pytest.fixture
def make_order(shop) -> Callable[..., Order]:
    """``make_order(lines=[(variant, quantity, kind, location)], channel=…, customer=…,
    phone=…, email=…)`` → an order placed, with reservations and shipments."""

    def make(
        *,
        lines,
        channel=None,
        customer=None,
        phone: str = "",
        email: str = "",
        with_customer: bool = True,
    ) -> Order:
        channel = channel or shop.web
        if customer is None and with_customer:
            customer = CustomerFactory()
        order = Order.objects.create(
            channel=channel,
            customer=customer,
            status=Order.Status.PLACED,
            currency=channel.currency,
            total_amount=Decimal("0.00"),
            phone=phone,
            email=email or (customer.email if customer else ""),
        )
        shipments: dict[tuple[str, int], Shipment] = {}
        total = Decimal("0.00")
        for variant, quantity, kind, location in lines:
            key = (kind, location.pk)
            if key not in shipments:
                shipments[key] = Shipment.objects.create(
                    order=order,
                    kind=kind,
                    location=location,
                    status=Shipment.Status.TAKEN
                    if kind == Fulfilment.TAKEN_NOW
                    else Shipment.Status.PENDING,
                )
            reservation = None
            status = OrderLine.Status.OPEN
            if kind == Fulfilment.TAKEN_NOW:
                stock_sell(location_id=location.pk, lines=[(variant.pk, quantity)], source=order)
                status = OrderLine.Status.FULFILLED
            else:
                reservation = stock_reserve(
                    variant_id=variant.pk,
                    location_id=location.pk,
                    quantity=quantity,
                    channel=channel,
                    reference=order.reference,
                )
            line_total = money_round(variant.price_amount * quantity, order.currency)
            total += line_total
            OrderLine.objects.create(
                order=order,
                variant=variant,
                sku=variant.sku,
                name=variant.product.name,
                quantity=quantity,
                unit_price_amount=variant.price_amount,
                vat_rate=variant.product.vat_rate,
                total_amount=line_total,
                fulfilment=kind,
                location=location,
                status=status,
                shipment=shipments[key],
                reservation=reservation,
            )
        order.total_amount = total
        order.save(update_fields=["total_amount"])
        order_event_record(order=order, kind="placed", channel=channel, to_status=order.status)
        return order_status_sync(order=order, channel=channel)

    return make
