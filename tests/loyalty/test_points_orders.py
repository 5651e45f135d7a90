"""Orders and points (orders.services.points): a paid order earns on its merchandise net
of discounts, without gift cards, once (``order.paid`` through the outbox); returns take
back pro rata, so that returning everything takes back exactly what was earned; a
cancelled paid order loses what it earned; nothing moves twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.models import PointsEntry, PointsProgramme
from loyalty.services.points import points_balance, points_redeem
from orders.models import Fulfilment, OrderLine
from orders.services.fulfilment import shipment_ship
from orders.services.points import order_points_cancel, order_points_earn, return_points_reverse
from orders.services.returns import return_create
from payments.services.start import payment_start
from tests.conftest import run_outbox
from tests.factories import CustomerFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403

D = Decimal


@pytest.fixture
def programme(db) -> PointsProgramme:
    return PointsProgramme.objects.create(
        name="Fidélité", currency="EUR", points_per_unit=D("1"), point_value=D("0.05")
    )


@pytest.fixture
def basket(shop, stocked_variant, make_order, programme):
    """A shipped web order for Camille: 4 shirts at 25.00 with 10.00 off the line (90.00
    paid for them) and a 50.00 gift card; not yet paid."""
    shirt = stocked_variant(warehouse=10, price_amount=D("25.00"))
    card = stocked_variant(warehouse=5, price_amount=D("50.00"), product__gift_card="multi")
    camille = CustomerFactory()
    order = make_order(
        lines=[
            (shirt, 4, Fulfilment.SHIP, shop.warehouse),
            (card, 1, Fulfilment.SHIP, shop.warehouse),
        ],
        customer=camille,
    )
    OrderLine.objects.filter(order=order, variant=shirt).update(
        discount_amount=D("10.00"), total_amount=D("90.00")
    )
    order.total_amount = D("140.00")
    order.save(update_fields=["total_amount"])
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="T1")
    order.refresh_from_db()
    return order, camille, order.lines.get(variant=shirt)


def pay(order, amount="140.00"):
    payment_start(order=order, method="cash", amount=D(amount), idempotency_key="pay")


def bring_back(order, line, quantity: int, amount: str):
    ret = return_create(
        order=order,
        channel=order.channel,
        lines=[{"order_line": line, "quantity": quantity, "reason": "wrong_size"}],
        receiving_location=line.location,
        outcome="refund",
    )
    # What a discounted line's return refunds: its share of what was paid (the lead's
    # return flow computes it; the fixture states it).
    ret.lines.update(amount=D(amount))
    return ret


def points_of(customer, programme) -> int:
    return points_balance(customer=customer, programme=programme)


def test_a_paid_order_earns_once_on_merchandise_net_of_discounts_without_gift_cards(
    basket, programme
):
    order, camille, _ = basket
    assert order_points_earn(order) is None  # not paid yet

    pay(order)
    run_outbox()  # order.paid → payments.events.on_order_paid_points_earn

    earned = PointsEntry.objects.get(customer=camille)
    assert (earned.kind, earned.points, earned.reference, earned.idempotency_key) == (
        "earn",
        90,
        order.reference,
        f"order:{order.pk}:earn",
    )
    assert order_points_earn(order).pk == earned.pk  # replayed: the same row
    assert PointsEntry.objects.count() == 1


def test_an_order_without_a_customer_earns_nothing(shop, make_order, stocked_variant, programme):
    shirt = stocked_variant(warehouse=2, price_amount=D("25.00"))
    guest = make_order(lines=[(shirt, 1, Fulfilment.SHIP, shop.warehouse)], with_customer=False)
    payment_start(order=guest, method="cash", amount=D("25"), idempotency_key="g")

    assert order_points_earn(guest) is None
    assert not PointsEntry.objects.exists()


def test_returns_take_back_pro_rata_and_all_of_it_when_everything_comes_back(basket, programme):
    order, camille, shirts = basket
    pay(order)
    order_points_earn(order)  # 90 on 90.00
    points_redeem(customer=camille, points=1)  # spent elsewhere: the balance is 89

    first = return_points_reverse(bring_back(order, shirts, 1, "22.50"))
    second_return = bring_back(order, shirts, 2, "45.00")
    second = return_points_reverse(second_return)
    assert return_points_reverse(second_return).pk == second.pk  # replayed: the same row
    last_return = bring_back(order, shirts, 1, "22.50")
    third = return_points_reverse(last_return)

    # floor(90 × 22.50/90) = 22, then floor(90 × 67.50/90) − 22 = 45, then the 23 left,
    # of which only 22 are still held: the balance stops at zero and the row says so.
    assert [first.points, second.points, third.points] == [-22, -45, -22]
    assert (third.reason, third.idempotency_key) == (
        "asked -23, reversed -22",
        f"return:{last_return.pk}",
    )
    assert points_of(camille, programme) == 0
    assert order_points_cancel(order) is None  # nothing left to take back


def test_a_return_before_the_points_were_earned_is_left_out_of_the_base(basket, programme):
    order, camille, shirts = basket
    pay(order)
    # Two shirts come back before the worker handles ``order.paid``.
    early = bring_back(order, shirts, 2, "45.00")

    earned = order_points_earn(order)

    assert earned.points == 45  # (90.00 − 45.00) × 1
    assert return_points_reverse(early) is None
    later = return_points_reverse(bring_back(order, shirts, 2, "45.00"))
    assert later.points == -45
    assert points_of(camille, programme) == 0


def test_a_cancelled_paid_order_loses_what_it_earned_once(basket, programme):
    order, camille, _ = basket
    pay(order)
    order_points_earn(order)

    taken = order_points_cancel(order)
    again = order_points_cancel(order)

    assert (taken.kind, taken.points, taken.idempotency_key) == (
        "reverse",
        -90,
        f"order:{order.pk}:cancel",
    )
    assert again.pk == taken.pk
    assert points_of(camille, programme) == 0
