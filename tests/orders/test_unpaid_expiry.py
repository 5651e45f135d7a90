"""Unpaid orders give their stock back: past their payment method's delay they are
cancelled, their reservations released, the timeline says why and the customer is told;
paid, partly paid, being paid (a live link, a pending payment) or handed-over orders
stay as they are (issue 11, item 6: stock hoarding)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from orders.models import Order, OrderEvent
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.expiry import orders_unpaid_expire
from orders.tasks import unpaid_expire_task
from payments.models import Payment
from unicommerce.messaging.models import Message

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}


def reserved(variant, location) -> int:
    return StockLevel.objects.get(variant=variant, location=location).reserved


@pytest.fixture
def web_order(shop, stocked_variant):
    def make(method: str = "pay_later", **extra) -> Order:
        variant = stocked_variant(warehouse=3)
        cart = cart_create(channel=shop.web)
        cart_line_add(cart=cart, variant=variant, quantity=2, channel=shop.web)
        order = order_checkout(
            cart=cart,
            channel=shop.web,
            payment_method=method,
            shipping_address=ADDRESS,
            contact_email="camille@example.com",
            default_choice=LineChoice("ship", shop.warehouse),
            **extra,
        )
        order.variant = variant
        return order

    return make


def later(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def test_an_unpaid_order_past_its_delay_is_cancelled_and_its_stock_freed(shop, web_order):
    order = web_order("pay_later")
    assert reserved(order.variant, shop.warehouse) == 2

    assert orders_unpaid_expire(now=later(59)) == 0  # pay later: an hour
    assert orders_unpaid_expire(now=later(61)) == 1

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "unpaid")
    assert reserved(order.variant, shop.warehouse) == 0
    assert not Reservation.objects.filter(status="active").exists()
    event = OrderEvent.objects.filter(order=order, kind="cancelled").get()
    assert "Not paid in time" in event.message
    told = Message.objects.get(kind="order_unpaid_cancelled")
    assert (told.channel, told.to) == ("email", "camille@example.com")
    assert order.reference in told.body
    assert orders_unpaid_expire(now=later(120)) == 0  # once


def test_each_payment_method_has_its_own_delay(shop, web_order, settings):
    settings.ORDER_UNPAID_EXPIRY_MINUTES = {"pay_later": 60, "pay_in_store": 0}
    in_store = web_order("pay_in_store")

    assert orders_unpaid_expire(now=later(60 * 24 * 30)) == 0  # 0: never

    in_store.refresh_from_db()
    assert in_store.status == "placed"


def test_a_paid_or_partly_paid_order_is_kept(shop, web_order):
    paid, partly = web_order(), web_order()
    Order.objects.filter(pk=paid.pk).update(payment_status="paid")
    Order.objects.filter(pk=partly.pk).update(payment_status="partially_paid")

    assert orders_unpaid_expire(now=later(120)) == 0


def test_an_order_being_paid_is_kept(shop, web_order):
    pending = web_order()
    Payment.objects.create(
        order=pending,
        method="card_online",
        status="pending",
        amount=Decimal("10.00"),
        currency="EUR",
        gateway="simulated",
    )

    assert orders_unpaid_expire(now=later(120)) == 0
    pending.refresh_from_db()
    assert pending.status == "placed"


def test_an_order_with_goods_already_handed_over_is_left_to_a_person(shop, stocked_variant):
    # Collected in the store before anyone took its payment: the goods are gone, a
    # person decides (taken-now goods of an unpaid order are never handed over: see
    # test_unpaid_till_orders).
    variant = stocked_variant(store=2)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1, channel=shop.web)
    order = order_checkout(
        cart=cart,
        channel=shop.web,
        payment_method="pay_in_store",
        default_choice=LineChoice("collect", shop.store),
    )
    shipment = order.shipments.get()
    shipment_ready(shipment=shipment)
    shipment.refresh_from_db()
    shipment_collect(shipment=shipment, code=shipment.pickup_code)

    assert unpaid_expire_task.apply().get() == 0
    assert orders_unpaid_expire(now=later(60 * 24 * 8)) == 0
    order.refresh_from_db()
    assert order.status == "fulfilled"
