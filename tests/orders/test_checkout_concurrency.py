"""Concurrent checkouts on real PostgreSQL connections (one per thread): exactly the
stock there is gets sold, the losers get the same clean error, nobody deadlocks."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum

from inventory.models import Reservation, StockLevel
from orders.exceptions import CheckoutUnavailable
from orders.models import Order, OrderLine
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(count: int, work) -> list:
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    return outcomes


def test_16_buyers_of_one_hot_variant_get_exactly_the_stock_there_is(shop, stocked_variant):
    variant = stocked_variant(warehouse=7, store=3)
    carts = []
    for _ in range(16):
        cart = cart_create(channel=shop.web)
        cart_line_add(cart=cart, variant=variant, quantity=1)
        carts.append(cart)

    outcomes = run_concurrently(
        16,
        lambda i: order_checkout(
            cart=carts[i],
            channel=shop.web,
            payment_method="pay_in_store",
            shipping_address=ADDRESS,
        ),
    )

    orders = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, CheckoutUnavailable)]
    assert (len(orders), len(refused)) == (10, 6), outcomes
    assert all(r.details["lines"][0]["available"] == 0 for r in refused)
    reserved = StockLevel.objects.filter(variant=variant).aggregate(Sum("reserved"))
    assert reserved["reserved__sum"] == 10
    assert Reservation.objects.filter(variant=variant, status="active").count() == 10
    assert OrderLine.objects.aggregate(Sum("quantity"))["quantity__sum"] == 10
    assert Order.objects.count() == 10


def test_baskets_of_two_hot_variants_added_in_opposite_orders_never_deadlock(shop, stocked_variant):
    a = stocked_variant(warehouse=20, store=20)
    b = stocked_variant(warehouse=20, store=20)
    carts = []
    for index in range(16):
        cart = cart_create(channel=shop.store_channel)
        first, second = (a, b) if index % 2 else (b, a)
        cart_line_add(cart=cart, variant=first, quantity=1)
        # half of them ship the second line, the others take it now at the till
        fulfilment = "ship" if index % 4 < 2 else ""
        cart_line_add(cart=cart, variant=second, quantity=1, fulfilment=fulfilment)
        carts.append(cart)

    outcomes = run_concurrently(
        16,
        lambda i: order_checkout(
            cart=carts[i],
            channel=shop.store_channel,
            payment_method="pay_in_store",
            till_location=shop.store,
            shipping_address=ADDRESS,
            user=shop.seller,
        ),
    )

    assert all(isinstance(o, Order) for o in outcomes), outcomes
    assert OrderLine.objects.aggregate(Sum("quantity"))["quantity__sum"] == 32
