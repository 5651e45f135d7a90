"""Fulfilment services: pick, pack, ship (also partially), click & collect with a pickup
code, cancellation and edits before preparation. Each refusal leaves everything as it
was."""

from __future__ import annotations

import pytest

from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, StockMovement
from orders.exceptions import (
    OrderLineNotEditable,
    OrderNotCancellable,
    PickupCodeWrong,
    RelocationInvalid,
    ShipmentActionRefused,
    ShipmentLinesInvalid,
    TrackingMissing,
)
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Shipment
from orders.services.cancellation import order_cancel
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.edits import order_line_quantity_set, order_line_relocate, order_line_remove
from orders.services.fulfilment import shipment_pack, shipment_pick_start, shipment_ship
from tests.factories import CustomerFactory, UserFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from tests.orders.fixtures_fulfilment import level, sales
from unicommerce.messaging.models import Message

SHIP, COLLECT, TAKEN = Fulfilment.SHIP, Fulfilment.COLLECT, Fulfilment.TAKEN_NOW


def snapshot(order: Order) -> tuple:
    """Everything a refused operation must leave untouched."""
    order.refresh_from_db()
    return (
        order.status,
        str(order.total_amount),
        list(order.lines.order_by("id").values_list("status", "quantity", "location_id")),
        list(
            order.shipments.order_by("id").values_list(
                "status", "kind", "location_id", "tracking_number", "pickup_code"
            )
        ),
        list(
            Reservation.objects.filter(reference=order.reference)
            .order_by("id")
            .values_list("status", "quantity", "location_id")
        ),
        StockMovement.objects.count(),
        OrderEvent.objects.filter(order=order).count(),
        Message.objects.count(),
    )


def statuses(order: Order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order, kind="status").values_list("to_status", flat=True)
    )


def test_pick_pack_ship_sells_the_reserved_units_and_fulfils(shop, stocked_variant, make_order):
    shirt = stocked_variant(warehouse=5)
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    packer = UserFactory()
    assert level(shirt, shop.warehouse) == (5, 2)

    shipment_pick_start(shipment=shipment, user=packer, channel=shop.web)
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    shipment_pack(shipment=shipment, user=packer)
    shipped = shipment_ship(
        shipment=shipment, carrier="Colissimo", tracking_number=" 6A123 ", user=packer
    )

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert statuses(order) == ["processing", "fulfilled"]
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == (
        "shipped",
        "Colissimo",
        "6A123",
    )
    assert shipped.picked_at
    assert shipped.packed_at
    assert shipped.shipped_at
    assert order.lines.get().status == OrderLine.Status.FULFILLED
    assert level(shirt, shop.warehouse) == (3, 0)
    assert sales(shirt, shop.warehouse) == [("receipt", 5), ("sale", -2)]
    sale = StockMovement.objects.get(reason="sale", variant=shirt)
    assert (sale.source_type.model, sale.source_id) == ("order", str(order.pk))
    assert order.lines.get().reservation.status == Reservation.Status.CONVERTED
    kinds = list(order.events.values_list("kind", "actor_id", "channel_id"))
    assert ("shipment_picking", packer.pk, shop.web.pk) in kinds
    assert ("shipment_packed", packer.pk, None) in kinds
    assert ("shipment_shipped", packer.pk, None) in kinds


def test_partial_ship_moves_the_other_lines_to_a_new_pending_shipment(
    shop, stocked_variant, make_order
):
    shirt, socks = stocked_variant(warehouse=5), stocked_variant(warehouse=5)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 3, SHIP, shop.warehouse)])
    first = order.shipments.get()
    shirt_line = order.lines.get(variant=shirt)
    socks_line = order.lines.get(variant=socks)

    shipment_ship(shipment=first, carrier="DHL", tracking_number="JD1", line_ids=[shirt_line.pk])

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED
    rest = order.shipments.exclude(pk=first.pk).get()
    assert (rest.kind, rest.location, rest.status) == (SHIP, shop.warehouse, "pending")
    socks_line.refresh_from_db()
    assert (socks_line.shipment_id, socks_line.status) == (rest.pk, "open")
    assert list(first.lines.values_list("pk", flat=True)) == [shirt_line.pk]
    assert level(shirt, shop.warehouse) == (4, 0)
    assert level(socks, shop.warehouse) == (5, 3)

    shipment_ship(shipment=rest, carrier="DHL", tracking_number="JD2")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert level(socks, shop.warehouse) == (2, 0)


def test_shipping_refusals_change_nothing(shop, stocked_variant, make_order):
    shirt = stocked_variant(warehouse=5)
    other = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    shipment = order.shipments.get()
    before = snapshot(order)

    with pytest.raises(TrackingMissing):
        shipment_ship(shipment=shipment, carrier="DHL", tracking_number="  ")
    with pytest.raises(ShipmentLinesInvalid) as wrong_line:
        shipment_ship(
            shipment=shipment,
            carrier="DHL",
            tracking_number="1",
            line_ids=[other.lines.get().pk],
        )
    with pytest.raises(ShipmentLinesInvalid):
        shipment_ship(shipment=shipment, carrier="DHL", tracking_number="1", line_ids=[])
    with pytest.raises(ShipmentActionRefused) as refused:
        shipment_pack(shipment=shipment)
    with pytest.raises(ShipmentActionRefused):
        shipment_ready(shipment=shipment)  # a parcel is not collected
    with pytest.raises(ShipmentActionRefused):
        shipment_collect(shipment=shipment, code="000000")

    assert snapshot(order) == before
    assert wrong_line.value.code == "shipment_lines_invalid"
    assert wrong_line.value.details["unknown"] == [str(other.lines.get().pk)]
    assert (refused.value.code, refused.value.details["status"]) == (
        "shipment_transition_refused",
        "pending",
    )


def test_ready_for_pickup_draws_a_code_and_texts_the_customer(chain, stocked_variant, make_order):
    shop = chain.shop
    bag = stocked_variant(store=2)
    customer = CustomerFactory(phone="+33612345678")
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], customer=customer)
    shipment = order.shipments.get()

    shipment_ready(shipment=shipment, channel=shop.store_channel)

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == Shipment.Status.READY
    assert len(shipment.pickup_code) == 6
    assert shipment.pickup_code.isdigit()
    message = Message.objects.get()
    assert (message.channel, message.to, message.kind) == (
        "sms",
        "+33612345678",
        "order.ready_for_pickup",
    )
    assert shipment.pickup_code in message.body
    assert "Paris" in message.body
    assert order.reference in message.body
    assert (message.customer_id, message.dedup_key) == (
        customer.pk,
        f"shipment-ready:{shipment.pk}",
    )
    assert order.status == Order.Status.PROCESSING
    event = order.events.get(kind="shipment_ready")
    assert (event.data["notified_by"], event.channel) == ("sms", shop.store_channel)
    assert level(bag, shop.store) == (2, 1)  # still held until pickup

    with pytest.raises(ShipmentActionRefused):
        shipment_ready(shipment=shipment)
    assert Message.objects.count() == 1


def test_ready_for_pickup_mails_a_customer_without_phone(shop, stocked_variant, make_order):
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], email="ana@example.com")
    shipment = order.shipments.get()
    shipment_pick_start(shipment=shipment)

    shipment_ready(shipment=shipment)

    message = Message.objects.get()
    assert (message.channel, message.to) == ("email", "ana@example.com")
    assert order.reference in message.subject
    assert Shipment.objects.get(pk=shipment.pk).pickup_code in message.body


def test_collect_against_the_code(shop, stocked_variant, make_order):
    bag = stocked_variant(store=2)
    order = make_order(lines=[(bag, 1, COLLECT, shop.store)], phone="+33611111111")
    shipment = shipment_ready(shipment=order.shipments.get())
    code = shipment.pickup_code
    wrong = "000000" if code != "000000" else "111111"
    before = snapshot(order)

    with pytest.raises(PickupCodeWrong) as refused:
        shipment_collect(shipment=shipment, code=wrong)
    with pytest.raises(PickupCodeWrong):
        shipment_collect(shipment=shipment, code="")

    assert (refused.value.code, refused.value.http_status) == ("pickup_code_wrong", 400)
    assert snapshot(order) == before

    seller = UserFactory()
    shipment_collect(shipment=shipment, code=f" {code} ", user=seller, channel=shop.store_channel)

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == Shipment.Status.COLLECTED
    assert shipment.collected_at
    assert order.status == Order.Status.FULFILLED
    assert level(bag, shop.store) == (1, 0)
    assert sales(bag, shop.store) == [("receipt", 2), ("sale", -1)]
    event = order.events.get(kind="shipment_collected")
    assert (event.actor, event.channel) == (seller, shop.store_channel)


def test_cancel_before_anything_is_fulfilled_cancels_the_whole_order(
    shop, stocked_variant, make_order
):
    shirt, bag = stocked_variant(warehouse=3), stocked_variant(store=3)
    order = make_order(lines=[(shirt, 2, SHIP, shop.warehouse), (bag, 1, COLLECT, shop.store)])
    shipment_pick_start(shipment=order.shipments.get(kind=SHIP))
    boss = UserFactory()

    order_cancel(order=order, user=boss, channel=shop.web, reason="Customer called")

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert set(order.lines.values_list("status", flat=True)) == {"cancelled"}
    assert set(order.shipments.values_list("status", flat=True)) == {"cancelled"}
    assert level(shirt, shop.warehouse) == (3, 0)
    assert level(bag, shop.store) == (3, 0)
    assert set(
        Reservation.objects.filter(reference=order.reference).values_list("status", flat=True)
    ) == {"released"}
    assert str(order.total_amount) == "0.00"
    event = order.events.get(kind="cancelled")
    assert (event.actor, event.message) == (boss, "Customer called")
    assert statuses(order) == ["processing", "cancelled"]

    before = snapshot(order)
    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order)
    assert snapshot(order) == before


def test_cancel_after_a_partial_fulfilment_cancels_the_open_lines_only(
    shop, stocked_variant, make_order
):
    shirt, socks = stocked_variant(warehouse=3), stocked_variant(warehouse=3)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (socks, 2, SHIP, shop.warehouse)])
    shirt_line = order.lines.get(variant=shirt)
    shipment_ship(
        shipment=order.shipments.get(),
        carrier="UPS",
        tracking_number="1Z",
        line_ids=[shirt_line.pk],
    )

    order_cancel(order=order)

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert dict(order.lines.values_list("sku", "status")) == {
        shirt.sku: "fulfilled",
        socks.sku: "cancelled",
    }
    assert level(socks, shop.warehouse) == (3, 0)
    assert level(shirt, shop.warehouse) == (2, 0)
    assert order.total_amount == shirt_line.total_amount
    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order)


def test_quantity_edit_follows_with_the_reservation_and_the_totals(
    shop, stocked_variant, make_order
):
    shirt = stocked_variant(warehouse=4)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    line = order.lines.get()

    order_line_quantity_set(line=line, quantity=3)

    line.refresh_from_db()
    order.refresh_from_db()
    assert (line.quantity, str(line.total_amount), str(order.total_amount)) == (
        3,
        "59.70",
        "59.70",
    )
    assert level(shirt, shop.warehouse) == (4, 3)
    assert line.reservation.quantity == 3
    assert line.reservation.status == "active"
    assert order.events.filter(kind="line_quantity_changed").count() == 1

    before = snapshot(order)
    with pytest.raises(InsufficientStock):
        order_line_quantity_set(line=line, quantity=5)
    assert snapshot(order) == before

    order_line_quantity_set(line=line, quantity=2)
    order.refresh_from_db()
    assert level(shirt, shop.warehouse) == (4, 2)
    assert str(order.total_amount) == "39.80"


def test_edits_are_refused_once_preparation_started(shop, stocked_variant, make_order):
    shirt = stocked_variant(warehouse=4)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    line = order.lines.get()
    shipment_pick_start(shipment=order.shipments.get())
    before = snapshot(order)

    with pytest.raises(OrderLineNotEditable) as refused:
        order_line_quantity_set(line=line, quantity=2)
    with pytest.raises(OrderLineNotEditable):
        order_line_remove(line=line)
    with pytest.raises(OrderLineNotEditable):
        order_line_relocate(line=line, location=shop.store)

    assert snapshot(order) == before
    assert refused.value.details["shipment_status"] == "picking"


def test_removing_lines_gives_the_units_back_and_the_last_one_cancels(
    shop, stocked_variant, make_order
):
    shirt, bag = stocked_variant(warehouse=2), stocked_variant(store=2)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse), (bag, 2, COLLECT, shop.store)])

    order_line_remove(line=order.lines.get(variant=bag))

    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert level(bag, shop.store) == (2, 0)
    assert order.shipments.get(kind=COLLECT).status == "cancelled"
    assert order.total_amount == order.lines.get(variant=shirt).total_amount

    order_line_remove(line=order.lines.get(variant=shirt))
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert str(order.total_amount) == "0.00"


def test_relocate_reserves_at_the_new_place_first(chain, stocked_variant, make_order):
    shop = chain.shop
    shirt = stocked_variant(warehouse=2, store=1)
    order = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    line = order.lines.get()
    old_shipment = line.shipment

    order_line_relocate(line=line, location=shop.store, user=UserFactory())

    line.refresh_from_db()
    assert line.location == shop.store
    assert (line.shipment.kind, line.shipment.location, line.shipment.status) == (
        SHIP,
        shop.store,
        "pending",
    )
    assert not Shipment.objects.filter(pk=old_shipment.pk).exists()
    assert level(shirt, shop.store) == (1, 1)
    assert level(shirt, shop.warehouse) == (2, 0)
    assert order.events.filter(kind="line_relocated").get().data["to"] == "paris"

    before = snapshot(order)
    with pytest.raises(InsufficientStock):
        order_line_relocate(line=line, location=chain.lyon)  # none in Lyon
    with pytest.raises(RelocationInvalid):
        order_line_relocate(line=line, location=shop.store)
    with pytest.raises(RelocationInvalid):
        order_line_relocate(line=line, location=chain.quarantine)
    assert snapshot(order) == before

    shipment_ship(shipment=line.shipment, carrier="Chronopost", tracking_number="XY")
    assert level(shirt, shop.store) == (0, 0)


def test_taken_now_shipments_have_no_further_steps(shop, stocked_variant, make_order):
    shirt = stocked_variant(store=2)
    order = make_order(lines=[(shirt, 1, TAKEN, shop.store)], channel=shop.store_channel)
    assert order.status == Order.Status.FULFILLED
    with pytest.raises(ShipmentActionRefused):
        shipment_pick_start(shipment=order.shipments.get())
    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order)
