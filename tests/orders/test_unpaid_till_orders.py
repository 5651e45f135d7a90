"""Goods never leave unpaid. An order placed at the till to be paid later ("pay in store
later", a payment link…) holds its taken-now lines at the store instead of selling them:
they are handed over when the order is paid in full, whatever pays it, and the
unpaid-order expiry gives them back. Such orders are listed as waiting for payment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockLevel, StockMovement
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Shipment
from orders.selectors import orders_awaiting_payment, orders_awaiting_payment_at
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from orders.services.expiry import orders_unpaid_expire
from orders.services.fulfilment import order_paid_hand_over
from payments.models import Payment
from payments.services.cash import payment_take_cash
from payments.services.start import payment_start
from unicommerce.exceptions import InvalidInput

pytestmark = pytest.mark.django_db
D = Decimal


def level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


@pytest.fixture
def tee(stocked_variant):
    return stocked_variant(store=3, warehouse=5, sku="TEE-1", price_amount=D("20.00"))


@pytest.fixture
def till_order(shop, tee):
    """Two tees taken now at the Paris till, the order to be paid in store later."""

    def make(method: str = "pay_in_store", quantity: int = 2, **extra) -> Order:
        cart = cart_create(channel=shop.store_channel)
        cart_line_add(cart=cart, variant=tee, quantity=quantity, channel=shop.store_channel)
        return order_checkout(
            cart=cart,
            channel=shop.store_channel,
            payment_method=method,
            till_location=shop.store,
            default_choice=LineChoice(Fulfilment.TAKEN_NOW, shop.store),
            user=shop.seller,
            **extra,
        )

    return make


def test_taken_now_lines_of_an_unpaid_order_are_held_at_the_store_not_sold(shop, tee, till_order):
    order = till_order()

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("placed", "unpaid")
    assert level(tee, shop.store) == (3, 2)  # still here, held for the customer
    assert not StockMovement.objects.filter(reason="sale").exists()
    line = order.lines.get()
    assert (line.status, line.fulfilment, line.location) == ("open", "taken_now", shop.store)
    assert line.reservation.status == Reservation.Status.ACTIVE
    shipment = Shipment.objects.get(order=order)
    assert (shipment.kind, shipment.status, shipment.collected_at) == ("taken_now", "pending", None)
    placed = OrderEvent.objects.get(order=order, kind="placed")
    assert placed.data["handed_over_when_paid"] is True
    # Waiting for payment, listed for this store and everyone's list.
    assert list(orders_awaiting_payment()) == [order]
    assert list(orders_awaiting_payment_at(shop.store.pk)) == [order]
    assert list(orders_awaiting_payment_at(shop.warehouse.pk)) == []


def test_paid_in_full_at_the_till_the_goods_are_handed_over(shop, tee, till_order):
    order = till_order()

    payment_take_cash(order=order, tendered=D("50.00"), channel=shop.store_channel)

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("fulfilled", "paid")
    assert level(tee, shop.store) == (1, 0)
    assert StockMovement.objects.get(reason="sale").quantity == -2
    line = order.lines.get()
    assert line.status == OrderLine.Status.FULFILLED
    assert line.reservation.status == Reservation.Status.CONVERTED
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == "taken"
    assert shipment.collected_at is not None
    handed = OrderEvent.objects.get(order=order, kind="handed_over")
    assert handed.data["lines"] == [line.pk]
    assert "handed over" in handed.message
    assert list(orders_awaiting_payment()) == []


def test_any_payment_that_pays_in_full_hands_over_and_a_part_payment_does_not(
    shop, tee, till_order
):
    order = till_order()

    payment_start(order=order, method="cash", amount=D("15.00"), idempotency_key="part")
    order.refresh_from_db()
    assert (order.payment_status, order.lines.get().status) == ("partially_paid", "open")
    assert level(tee, shop.store) == (3, 2)
    assert list(orders_awaiting_payment()) == [order]

    payment_start(
        order=order, method="card_online", amount=D("25.00"), token="sim_ok", idempotency_key="c"
    )

    order.refresh_from_db()
    assert (order.payment_status, order.status, order.lines.get().status) == (
        "paid",
        "fulfilled",
        "fulfilled",
    )
    assert level(tee, shop.store) == (1, 0)


def test_the_unpaid_expiry_gives_the_held_goods_back(shop, tee, till_order, settings):
    order = till_order()
    minutes = settings.ORDER_UNPAID_EXPIRY_MINUTES["pay_in_store"]

    assert orders_unpaid_expire(now=timezone.now() + timedelta(minutes=minutes - 1)) == 0
    assert orders_unpaid_expire(now=timezone.now() + timedelta(minutes=minutes + 1)) == 1

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert level(tee, shop.store) == (3, 0)  # never sold, back on sale
    assert order.lines.get().reservation.status == Reservation.Status.RELEASED
    assert not StockMovement.objects.filter(reason="sale").exists()
    assert list(orders_awaiting_payment()) == []


def test_cash_at_the_till_still_hands_over_at_once(shop, tee, till_order):
    order = till_order("cash", payment_params={"tendered": D("40.00")})

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("fulfilled", "paid")
    assert level(tee, shop.store) == (1, 0)
    assert not Reservation.objects.exists()
    assert Payment.objects.get(order=order).method == "cash"


def test_the_hand_over_is_refused_while_unpaid(shop, till_order):
    order = till_order()

    with pytest.raises(InvalidInput):
        order_paid_hand_over(order=order)

    assert order.lines.get().status == "open"


def test_the_last_units_are_held_safety_stock_included(shop, tee, till_order):
    StockLevel.objects.filter(variant=tee, location=shop.store).update(safety=2)

    order = till_order(quantity=3)  # the customer holds the three on the shelf

    assert level(tee, shop.store) == (3, 3)
    assert order.lines.get().status == "open"
