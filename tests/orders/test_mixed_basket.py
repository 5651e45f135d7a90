"""One order, three ways: a carry-out line at the Paris till, click & collect in Lyon and
a line shipped home from the warehouse (endless aisle). Each reserves and fulfils from
its own place, through checkout and the fulfilment services."""

from __future__ import annotations

from orders.models import Fulfilment, Order
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.fulfilment import shipment_pack, shipment_pick_start, shipment_ship
from orders.services.returns import return_create
from payments.services.cash import payment_take_cash
from tests.orders.conftest import ADDRESS
from tests.orders.fixtures_fulfilment import level, sales
from unicommerce.messaging.models import Message


def test_mixed_basket_reserves_and_fulfils_each_line_from_its_place(
    chain, stocked_variant, web_cart, receive
):
    shop = chain.shop
    scarf = stocked_variant(store=3)  # carried out at the Paris till
    boots = stocked_variant()  # collected in Lyon
    receive(boots, chain.lyon, 2)
    coat = stocked_variant(warehouse=4)  # shipped home from the warehouse
    cart = web_cart((scarf, 1), (boots, 1), (coat, 2), channel=shop.store_channel)
    lines = {line.variant_id: line.pk for line in cart.lines.all()}

    order = order_checkout(
        cart=cart,
        channel=shop.store_channel,
        payment_method="pay_in_store",
        till_location=shop.store,
        contact_phone="+33612345678",
        shipping_address=ADDRESS,
        line_choices={
            lines[scarf.pk]: LineChoice(Fulfilment.TAKEN_NOW, shop.store),
            lines[boots.pk]: LineChoice(Fulfilment.COLLECT, chain.lyon),
            lines[coat.pk]: LineChoice(Fulfilment.SHIP, shop.warehouse),
        },
        user=shop.seller,
    )
    order = Order.objects.get(pk=order.pk)  # a fresh read, as another request would

    by_kind = {s.kind: s for s in order.shipments.select_related("location")}
    # Not paid yet: the scarf the customer holds waits at the till for the payment.
    assert {k: (s.location.code, s.status) for k, s in by_kind.items()} == {
        "taken_now": ("paris", "pending"),
        "collect": ("lyon", "pending"),
        "ship": ("warehouse", "pending"),
    }
    assert level(scarf, shop.store) == (3, 1)
    assert order.status == Order.Status.PLACED
    payment_take_cash(order=order, tendered=order.total_amount, channel=shop.store_channel)
    by_kind["taken_now"].refresh_from_db()
    assert by_kind["taken_now"].status == "taken"
    assert level(scarf, shop.store) == (2, 0)  # paid: sold at the till, handed over
    assert sales(scarf, shop.store) == [("receipt", 3), ("sale", -1)]
    assert level(boots, chain.lyon) == (2, 1)  # held in Lyon
    assert level(coat, shop.warehouse) == (4, 2)  # held in the warehouse
    assert sales(boots, chain.lyon) == [("receipt", 2)]
    assert sales(coat, shop.warehouse) == [("receipt", 4)]
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED

    parcel = by_kind["ship"]
    shipment_pick_start(shipment=parcel, user=shop.seller)
    shipment_pack(shipment=parcel, user=shop.seller)
    shipment_ship(shipment=parcel, carrier="Colissimo", tracking_number="6A999")
    assert level(coat, shop.warehouse) == (2, 0)
    assert sales(coat, shop.warehouse) == [("receipt", 4), ("sale", -2)]
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED

    pickup = shipment_ready(shipment=by_kind["collect"], channel=chain.lyon_channel)
    message = Message.objects.get(reference=order.reference)
    assert (message.channel, message.to) == ("sms", "+33612345678")
    assert "Lyon" in message.body
    assert pickup.pickup_code in message.body
    shipment_collect(shipment=pickup, code=pickup.pickup_code, channel=chain.lyon_channel)

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert level(boots, chain.lyon) == (1, 0)
    assert sales(boots, chain.lyon) == [("receipt", 2), ("sale", -1)]
    assert level(scarf, shop.store) == (2, 0)
    assert set(order.lines.values_list("status", flat=True)) == {"fulfilled"}
    channels = set(order.events.exclude(channel=None).values_list("channel__code", flat=True))
    assert channels == {"store-paris", "store-lyon"}


def test_a_web_order_returned_in_a_store_is_flagged_cross_channel(shop, stocked_variant, web_cart):
    shirt = stocked_variant(warehouse=2)
    order = order_checkout(
        cart=web_cart((shirt, 1)),
        channel=shop.web,
        payment_method="pay_later",
        contact_email="ana@example.com",
        shipping_address=ADDRESS,
    )
    order = Order.objects.get(pk=order.pk)
    parcel = order.shipments.get()
    assert (parcel.kind, parcel.location) == (Fulfilment.SHIP, shop.warehouse)
    shipment_ship(shipment=parcel, carrier="DHL", tracking_number="JD0001")

    ret = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": order.lines.get(), "quantity": 1, "reason": "wrong_size"}],
        receiving_location=shop.store,
        outcome="refund",
        user=shop.seller,
    )

    assert ret.is_cross_channel is True
    assert level(shirt, shop.store) == (1, 0)
    assert sales(shirt, shop.store) == [("return", 1)]
    assert level(shirt, shop.warehouse) == (1, 0)
    assert ret.amount == order.lines.get().total_amount
