"""Loyalty points at the till's payment panel: the customer's balance and its worth are
shown, points pay part of the order (split tender with cash), more than held is refused
inline naming the reason and redeems nothing; without a programme there is no points
tender."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from loyalty.models import PointsEntry, PointsProgramme
from loyalty.services.points import points_balance, points_earn
from orders.models import Order
from orders.services.carts import cart_create, cart_line_add
from pos.services import sale_complete
from tests.pos.conftest import HX

D = Decimal


@pytest.fixture
def programme(db) -> PointsProgramme:
    return PointsProgramme.objects.create(
        name="Fidélité", currency="EUR", points_per_unit=D("1"), point_value=D("0.05")
    )


def placed(shop, customer, tee) -> Order:
    cart = cart_create(channel=shop.store_channel, customer=customer)
    cart_line_add(cart=cart, variant=tee, quantity=2, channel=shop.store_channel)
    return sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    ).order


def url(order: Order) -> str:
    return f"/pos/orders/{order.reference}/payment/"


def form_key(fragment: str, action: str) -> str:
    pattern = rf'name="action" value="{action}"><input type="hidden" name="key" value="(\w+)"'
    return re.search(pattern, fragment).group(1)


def test_points_pay_part_of_the_order_and_cash_the_rest(till, shop, camille, tee, programme):
    points_earn(customer=camille, amount=D("200"), currency="EUR", reference="UC-OLD")
    order = placed(shop, camille, tee)
    due = order.total_amount
    panel = till.get(url(order), **HX).content.decode()
    assert 'data-figure="pay:points">200 points, worth €10.00<' in panel

    paid = till.post(
        url(order),
        {"action": "points", "points_amount": "10", "key": form_key(panel, "points")},
        **HX,
    )

    assert paid.status_code == 200
    fragment = paid.content.decode()
    assert "€10.00 paid with loyalty points." in fragment
    assert 'data-figure="pay:points">0 points, worth €0.00<' in fragment
    assert points_balance(customer=camille, programme=programme) == 0
    till.post(
        url(order),
        {"action": "cash", "tendered": str(due - 10), "key": form_key(fragment, "cash")},
        **HX,
    )
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert list(order.payments.order_by("id").values_list("method", "amount")) == [
        ("points", D("10.00")),
        ("cash", due - 10),
    ]


def test_more_points_than_held_are_refused_inline_and_nothing_is_redeemed(
    till, shop, camille, tee, programme
):
    points_earn(customer=camille, amount=D("100"), currency="EUR", reference="UC-OLD")
    order = placed(shop, camille, tee)
    panel = till.get(url(order), **HX).content.decode()

    refused = till.post(
        url(order),
        {"action": "points", "points_amount": "5.01", "key": form_key(panel, "points")},
        **HX,
    )

    assert refused.status_code == 422
    fragment = refused.content.decode()
    assert "101 points is more than the 100 points held." in fragment
    assert re.search(r'id="pay-points-amount"[^>]*aria-invalid="true"', fragment)
    assert points_balance(customer=camille, programme=programme) == 100
    assert not PointsEntry.objects.filter(kind="redeem").exists()
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.UNPAID


def test_without_an_active_programme_the_panel_has_no_points_tender(till, shop, camille, tee, db):
    order = placed(shop, camille, tee)  # no programme active

    assert 'value="points"' not in till.get(url(order), **HX).content.decode()
