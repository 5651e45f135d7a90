"""Returns on any channel: restock where the goods are brought back (or quarantine), never
more than was bought, one return at a time per order."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections

from inventory.models import StockMovement
from orders.exceptions import ReturnInvalid, ReturnLineNotFulfilled, ReturnQuantityExceeded
from orders.models import Fulfilment, Order, Return, ReturnLine
from orders.services.fulfilment import shipment_ship
from orders.services.returns import return_create
from tests.factories import UserFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from tests.orders.fixtures_fulfilment import level, sales

SHIP, COLLECT = Fulfilment.SHIP, Fulfilment.COLLECT


def shipped_web_order(shop, make_order, *lines) -> Order:
    order = make_order(lines=[(v, q, SHIP, shop.warehouse) for v, q in lines])
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="T1")
    order.refresh_from_db()
    return order


def nothing_changed() -> tuple:
    return (
        Return.objects.count(),
        ReturnLine.objects.count(),
        StockMovement.objects.count(),
    )


def test_a_web_order_returned_in_a_store_restocks_that_store(shop, stocked_variant, make_order):
    shirt = stocked_variant(warehouse=3, price_amount=Decimal("24.95"))
    order = shipped_web_order(shop, make_order, (shirt, 2))
    seller = UserFactory()
    line = order.lines.get()

    ret = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": line, "quantity": 2, "reason": "wrong_size"}],
        receiving_location=shop.store,
        outcome=Return.Outcome.STORE_CREDIT,
        user=seller,
        note="Too small",
    )

    assert ret.is_cross_channel is True
    assert ret.location == shop.store
    assert (ret.amount, ret.currency) == (Decimal("49.90"), "EUR")
    assert (ret.outcome, ret.settlement, ret.created_by) == ("store_credit", "pending", seller)
    returned = ret.lines.get()
    assert (returned.quantity, returned.reason, returned.restock_location) == (
        2,
        "wrong_size",
        shop.store,
    )
    assert returned.amount == Decimal("49.90")
    assert level(shirt, shop.store) == (2, 0)
    assert level(shirt, shop.warehouse) == (1, 0)
    assert sales(shirt, shop.store) == [("return", 2)]
    movement = StockMovement.objects.get(reason="return")
    assert (movement.source_type.model, movement.source_id) == ("return", str(ret.pk))
    assert (movement.created_by, movement.note) == (seller, order.reference)
    event = order.events.get(kind="return")
    assert (event.channel, event.actor, event.data["cross_channel"]) == (
        shop.store_channel,
        seller,
        True,
    )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_a_return_on_the_order_channel_can_go_to_quarantine(chain, stocked_variant, make_order):
    shop = chain.shop
    shirt = stocked_variant(warehouse=3)
    order = shipped_web_order(shop, make_order, (shirt, 1))

    ret = return_create(
        order=order,
        channel=shop.web,
        lines=[
            {
                "order_line": order.lines.get().pk,
                "quantity": 1,
                "reason": "damaged",
                "restock_location": chain.quarantine,
            }
        ],
        receiving_location=shop.warehouse,
        outcome=Return.Outcome.REFUND,
    )

    assert ret.is_cross_channel is False
    assert level(shirt, chain.quarantine) == (1, 0)
    assert level(shirt, shop.warehouse) == (2, 0)


def test_never_more_than_bought_and_not_yet_returned(shop, stocked_variant, make_order):
    shirt, socks = stocked_variant(warehouse=5), stocked_variant(warehouse=5)
    order = shipped_web_order(shop, make_order, (shirt, 2), (socks, 1))
    shirt_line, socks_line = order.lines.get(variant=shirt), order.lines.get(variant=socks)
    return_create(
        order=order,
        channel=shop.web,
        lines=[{"order_line": shirt_line, "quantity": 1, "reason": "changed_mind"}],
        receiving_location=shop.warehouse,
        outcome="refund",
    )
    before = nothing_changed()

    with pytest.raises(ReturnQuantityExceeded) as refused:
        return_create(
            order=order,
            channel=shop.store_channel,
            lines=[
                {"order_line": shirt_line, "quantity": 2, "reason": "changed_mind"},
                {"order_line": socks_line, "quantity": 2, "reason": "changed_mind"},
            ],
            receiving_location=shop.store,
            outcome="refund",
        )

    assert nothing_changed() == before
    assert refused.value.code == "return_quantity_exceeded"
    assert refused.value.details["lines"] == [
        {
            "order_line": shirt_line.pk,
            "sku": shirt.sku,
            "requested": 2,
            "bought": 2,
            "already_returned": 1,
            "returnable": 1,
        },
        {
            "order_line": socks_line.pk,
            "sku": socks.sku,
            "requested": 2,
            "bought": 1,
            "already_returned": 0,
            "returnable": 1,
        },
    ]


def test_malformed_returns_are_refused_with_their_code(chain, stocked_variant, make_order):
    shop = chain.shop
    shirt = stocked_variant(warehouse=5)
    order = shipped_web_order(shop, make_order, (shirt, 2))
    other = shipped_web_order(shop, make_order, (shirt, 1))
    line = order.lines.get()
    ok = {"order_line": line, "quantity": 1, "reason": "other"}
    before = nothing_changed()

    def refused(lines, outcome="refund", location=None) -> str:
        with pytest.raises(ReturnInvalid) as error:
            return_create(
                order=order,
                channel=shop.web,
                lines=lines,
                receiving_location=location or shop.warehouse,
                outcome=outcome,
            )
        return error.value.code

    assert refused([]) == "return_empty"
    assert refused([ok, dict(ok)]) == "return_line_duplicate"
    assert refused([{**ok, "reason": "bored"}]) == "return_reason_invalid"
    assert refused([{**ok, "quantity": 0}]) == "invalid_quantity"
    assert refused([{**ok, "quantity": "1"}]) == "invalid_quantity"
    assert refused([ok], outcome="cash_back") == "return_outcome_invalid"
    assert refused([{**ok, "restock_location": chain.lyon}]) == "return_restock_location_invalid"
    assert refused([{**ok, "order_line": other.lines.get()}]) == "return_line_unknown"
    assert refused([{**ok, "order_line": None}]) == "return_line_unknown"
    assert nothing_changed() == before


def test_lines_not_handed_over_cannot_be_returned(shop, stocked_variant, make_order):
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)])
    before = nothing_changed()

    with pytest.raises(ReturnLineNotFulfilled) as refused:
        return_create(
            order=order,
            channel=shop.store_channel,
            lines=[{"order_line": order.lines.get(), "quantity": 1, "reason": "other"}],
            receiving_location=shop.store,
            outcome="refund",
        )

    assert refused.value.details["lines"][0]["status"] == "open"
    assert nothing_changed() == before
    assert level(bag, shop.store) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_returns_of_the_same_item_cannot_both_pass(
    shop, stocked_variant, make_order
):
    shirt = stocked_variant(warehouse=2)
    order = shipped_web_order(shop, make_order, (shirt, 1))
    line_id = order.lines.get().pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def bring_back(channel, location) -> None:
        try:
            barrier.wait()
            return_create(
                order=Order.objects.get(pk=order.pk),
                channel=channel,
                lines=[{"order_line": line_id, "quantity": 1, "reason": "other"}],
                receiving_location=location,
                outcome="refund",
            )
            outcomes.append("ok")
        except ReturnQuantityExceeded:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=bring_back, args=(shop.web, shop.warehouse)),
        threading.Thread(target=bring_back, args=(shop.store_channel, shop.store)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["ok", "refused"]
    assert ReturnLine.objects.filter(order_line_id=line_id).count() == 1
    assert StockMovement.objects.filter(reason="return").count() == 1
