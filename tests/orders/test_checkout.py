"""The one checkout: each fulfilment kind, mixed baskets, orchestration, the errors
(each leaving everything as it was), the payment hand-over and the outbox event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test.utils import override_settings

from customers.exceptions import InvalidPhone
from inventory.models import Location, Reservation, StockMovement
from orders import payment_methods
from orders.exceptions import (
    CartClosed,
    CheckoutUnavailable,
    EmptyCart,
    InvalidFulfilment,
    InvalidShippingAddress,
    UnknownPaymentMethod,
)
from orders.models import Cart, CartEvent, Fulfilment, Order, OrderEvent, OrderLine, Shipment
from orders.orchestration import Allocation
from orders.payment_methods import payment_method_register
from orders.services.cart_identity import cart_identify
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from tests.orders.conftest import ADDRESS, level
from unicommerce.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def checkout(cart, channel, **kwargs):
    kwargs.setdefault("payment_method", "pay_in_store")
    return order_checkout(cart=cart, channel=channel, **kwargs)


def shipments(order) -> list[tuple[str, str, str]]:
    return [
        (s.kind, s.location.code, s.status)
        for s in Shipment.objects.filter(order=order).select_related("location").order_by("id")
    ]


def order_lines(order) -> list[tuple[str, int, str, str, str, bool]]:
    return [
        (
            ln.sku,
            ln.quantity,
            ln.fulfilment,
            ln.location.code,
            ln.status,
            ln.reservation_id is not None,
        )
        for ln in OrderLine.objects.filter(order=order).select_related("location").order_by("id")
    ]


def snapshot(cart, *variants_and_locations):
    """Everything a failed checkout must leave as it was."""
    cart.refresh_from_db()
    return (
        cart.status,
        Order.objects.count(),
        Reservation.objects.count(),
        StockMovement.objects.filter(reason="sale").count(),
        CartEvent.objects.filter(cart=cart).count(),
        OutboxEvent.objects.filter(topic="order.placed").count(),
        [level(v, loc) for v, loc in variants_and_locations],
    )


# --- happy paths --------------------------------------------------------------------------


def test_a_shipped_line_is_reserved_where_orchestration_says_and_waits_for_payment(
    shop, stocked_variant, web_cart
):
    variant = stocked_variant(warehouse=5, store=1, price_amount=Decimal("30.00"))
    cart = web_cart((variant, 2))
    cart = cart_identify(cart=cart, email="lea@example.com", channel=shop.web)

    order = checkout(cart, shop.web, shipping_address=ADDRESS, contact_phone="0612345678")

    order.refresh_from_db()
    assert (order.status, order.total_amount, order.payment_method) == (
        "placed",
        Decimal("60.00"),
        "pay_in_store",
    )
    assert (order.channel_id, order.origin_channel_id) == (shop.web.pk, shop.web.pk)
    assert (order.email, order.phone) == ("lea@example.com", "+33612345678")
    assert order.shipping_address["country"] == "FR"
    assert order_lines(order) == [(variant.sku, 2, "ship", "warehouse", "open", True)]
    assert shipments(order) == [("ship", "warehouse", "pending")]
    reservation = Reservation.objects.get()
    assert (
        reservation.location_id,
        reservation.quantity,
        reservation.expires_at,
        reservation.reference,
        reservation.channel_id,
    ) == (shop.warehouse.pk, 2, None, order.reference, shop.web.pk)
    assert level(variant, shop.warehouse) == (5, 2)
    assert list(order.events.values_list("kind", "message")) == [
        ("placed", "Placed on Web store."),
        ("awaiting_payment", "Awaiting payment (Pay in store)."),
    ]
    cart.refresh_from_db()
    assert (cart.status, cart.checked_out_at is not None) == ("checked_out", True)
    assert CartEvent.objects.filter(cart=cart).last().kind == "checked_out"
    event = OutboxEvent.objects.get(topic="order.placed")
    assert event.payload == {
        "order_id": order.pk,
        "reference": order.reference,
        "channel_id": shop.web.pk,
        "origin_channel_id": shop.web.pk,
        "customer_id": cart.customer_id,
    }


def test_click_and_collect_reserves_at_the_chosen_store(shop, stocked_variant):
    variant = stocked_variant(warehouse=5, store=2)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=2, fulfilment="collect", location=shop.store)

    order = checkout(cart, shop.web)

    assert order_lines(order) == [(variant.sku, 2, "collect", "paris", "open", True)]
    assert shipments(order) == [("collect", "paris", "pending")]
    assert (level(variant, shop.store), level(variant, shop.warehouse)) == ((2, 2), (5, 0))
    assert order.shipping_address is None


def test_at_the_till_lines_are_taken_now_and_the_order_is_fulfilled(shop, stocked_variant):
    variant = stocked_variant(store=3)
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=2)

    # The till takes the payment itself (no method): paid now, the goods leave now.
    order = checkout(
        cart, shop.store_channel, till_location=shop.store, user=shop.seller, payment_method=None
    )

    assert order.status == "fulfilled"
    assert order.created_by == shop.seller
    assert order_lines(order) == [(variant.sku, 2, "taken_now", "paris", "fulfilled", False)]
    assert shipments(order) == [("taken_now", "paris", "taken")]
    assert level(variant, shop.store) == (1, 0)
    sale = StockMovement.objects.get(reason="sale")
    assert (sale.quantity, sale.source_id) == (-2, str(order.pk))


def test_a_mixed_basket_takes_collects_and_ships_each_from_the_right_place(
    chain, stocked_variant, receive
):
    shop = chain.shop
    carried = stocked_variant(store=2)
    collected = stocked_variant(store=5)
    receive(collected, chain.lyon, 3)
    shipped = stocked_variant(warehouse=4)
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=carried, quantity=1)
    cart_line_add(
        cart=cart, variant=collected, quantity=2, fulfilment="collect", location=chain.lyon
    )
    cart_line_add(cart=cart, variant=shipped, quantity=1, fulfilment="ship")

    order = checkout(
        cart,
        shop.store_channel,
        till_location=shop.store,
        shipping_address=ADDRESS,
        user=shop.seller,
        payment_method=None,  # paid at the till now: the carried item leaves now
    )

    assert order.status == "partially_fulfilled"
    assert sorted(order_lines(order)) == sorted(
        [
            (carried.sku, 1, "taken_now", "paris", "fulfilled", False),
            (collected.sku, 2, "collect", "lyon", "open", True),
            (shipped.sku, 1, "ship", "warehouse", "open", True),
        ]
    )
    assert sorted(shipments(order)) == [
        ("collect", "lyon", "pending"),
        ("ship", "warehouse", "pending"),
        ("taken_now", "paris", "taken"),
    ]
    assert level(carried, shop.store) == (1, 0)
    assert (level(collected, chain.lyon), level(collected, shop.store)) == ((3, 2), (5, 0))
    assert level(shipped, shop.warehouse) == (4, 1)


def test_endless_aisle_a_store_ships_from_a_location_that_only_feeds_the_web(shop, stocked_variant):
    variant = stocked_variant(warehouse=3)  # the warehouse feeds the web channel only
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    order = checkout(
        cart,
        shop.store_channel,
        till_location=shop.store,
        line_choices={cart.lines.get().pk: LineChoice("ship")},
        shipping_address=ADDRESS,
        user=shop.seller,
    )

    assert order_lines(order) == [(variant.sku, 1, "ship", "warehouse", "open", True)]


def test_a_line_no_single_location_can_fill_is_split_over_two(shop, stocked_variant):
    variant = stocked_variant(warehouse=3, store=2)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=5)

    order = checkout(cart, shop.web, shipping_address=ADDRESS)

    assert sorted(order_lines(order)) == [
        (variant.sku, 2, "ship", "paris", "open", True),
        (variant.sku, 3, "ship", "warehouse", "open", True),
    ]
    assert sorted(shipments(order)) == [
        ("ship", "paris", "pending"),
        ("ship", "warehouse", "pending"),
    ]
    assert sum(OrderLine.objects.filter(order=order).values_list("total_amount", flat=True)) == (
        order.total_amount
    )


def test_the_location_nearest_the_customer_ships(chain, stocked_variant, receive):
    chain.shop.warehouse.latitude, chain.shop.warehouse.longitude = (
        Decimal("50.63"),
        Decimal("3.06"),
    )
    chain.shop.warehouse.save()
    chain.lyon.latitude, chain.lyon.longitude = Decimal("45.76"), Decimal("4.84")
    chain.lyon.save()
    variant = stocked_variant(warehouse=5)
    receive(variant, chain.lyon, 5)
    cart = cart_create(channel=chain.shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    order = checkout(
        cart,
        chain.shop.web,
        shipping_address={
            **ADDRESS,
            "city": "Lyon",
            "postal_code": "69002",
            "latitude": "45.75",
            "longitude": "4.83",
        },
    )

    assert order_lines(order) == [(variant.sku, 1, "ship", "lyon", "open", True)]


def test_a_cart_filled_on_the_web_and_checked_out_in_the_store_shows_both_channels(
    shop, stocked_variant
):
    variant = stocked_variant(store=2)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)
    cart = cart_identify(cart=cart, phone="0655555555", channel=shop.web)

    order = checkout(
        cart, shop.store_channel, till_location=shop.store, user=shop.seller, payment_method=None
    )

    assert (order.channel_id, order.origin_channel_id) == (shop.store_channel.pk, shop.web.pk)
    placed = order.events.get(kind="placed")
    assert placed.message == "Cart filled on Web store, checked out on Paris store."
    assert (placed.data["channel"], placed.data["origin_channel"]) == ("store-paris", "web")
    assert order_lines(order) == [(variant.sku, 1, "taken_now", "paris", "fulfilled", False)]
    assert CartEvent.objects.filter(cart=cart).last().channel_id == shop.store_channel.pk


def test_a_taken_now_default_choice_sells_every_line_at_the_till(shop, stocked_variant):
    variant = stocked_variant(store=2)
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=2, fulfilment="ship")

    # The till taking payment itself (no method): every line leaves the store now.
    order = order_checkout(
        cart=cart,
        channel=cart.channel,
        payment_method=None,
        till_location=shop.store,
        default_choice=LineChoice(Fulfilment.TAKEN_NOW, shop.store),
        user=shop.seller,
    )

    assert (order.status, order.payment_method) == ("fulfilled", "")
    assert order_lines(order) == [(variant.sku, 2, "taken_now", "paris", "fulfilled", False)]
    assert not order.events.filter(kind="awaiting_payment").exists()


def test_a_registered_payment_method_gets_the_order_and_the_params(
    shop, stocked_variant, monkeypatch
):
    monkeypatch.setattr("orders.payment_methods._REGISTRY", dict(payment_methods._REGISTRY))
    seen = {}

    def handoff(*, order, channel, user, params):
        seen.update(order=order.pk, channel=channel.code, params=params)

    payment_method_register("test_voucher", "Voucher", handoff, channel_kinds={"web"})
    variant = stocked_variant(warehouse=1)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    order = checkout(
        cart,
        shop.web,
        payment_method="test_voucher",
        payment_params={"code": "X1"},
        shipping_address=ADDRESS,
    )

    assert seen == {"order": order.pk, "channel": "web", "params": {"code": "X1"}}
    with pytest.raises(UnknownPaymentMethod):  # not offered on a store channel
        checkout(
            cart_create(channel=shop.store_channel),
            shop.store_channel,
            payment_method="test_voucher",
        )


def choose_the_warehouse(*, lines, candidates, destination):
    """A replacement strategy: everything from the warehouse."""
    warehouse = Location.objects.get(code="warehouse")
    return [Allocation(line.variant_id, warehouse.pk, line.quantity) for line in lines]


@override_settings(ORDER_ORCHESTRATION_STRATEGY="tests.orders.test_checkout.choose_the_warehouse")
def test_the_orchestration_strategy_is_replaceable_by_a_setting(shop, stocked_variant):
    variant = stocked_variant(warehouse=1, store=50)  # the default would pick Paris
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    order = checkout(cart, shop.web, shipping_address=ADDRESS)

    assert order_lines(order) == [(variant.sku, 1, "ship", "warehouse", "open", True)]


# --- errors: clear, and nothing changed ------------------------------------------------------


def test_unavailable_lines_are_all_listed_with_what_is_available_and_nothing_changes(
    shop, stocked_variant
):
    enough = stocked_variant(warehouse=5)
    short_shipped = stocked_variant(warehouse=1, store=1)
    short_collected = stocked_variant(store=1)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=enough, quantity=1)
    shipped_line = cart_line_add(cart=cart, variant=short_shipped, quantity=3)
    collected_line = cart_line_add(
        cart=cart, variant=short_collected, quantity=2, fulfilment="collect", location=shop.store
    )
    places = [(enough, shop.warehouse), (short_shipped, shop.store), (short_collected, shop.store)]
    before = snapshot(cart, *places)

    with pytest.raises(CheckoutUnavailable) as error:
        checkout(cart, shop.web, shipping_address=ADDRESS)

    assert (error.value.code, error.value.http_status) == ("lines_unavailable", 409)
    assert error.value.details["lines"] == [
        {
            "line_id": shipped_line.pk,
            "variant_id": short_shipped.pk,
            "sku": short_shipped.sku,
            "fulfilment": "ship",
            "location": None,
            "location_name": None,
            "requested": 3,
            "available": 2,
        },
        {
            "line_id": collected_line.pk,
            "variant_id": short_collected.pk,
            "sku": short_collected.sku,
            "fulfilment": "collect",
            "location": "paris",
            "location_name": "Paris",
            "requested": 2,
            "available": 1,
        },
    ]
    assert (
        f"Only 1 of {short_collected.sku} available at Paris; 2 requested." in error.value.message
    )
    assert snapshot(cart, *places) == before


@pytest.mark.parametrize(
    ("kwargs", "error_class"),
    [
        ({"payment_method": "bitcoin"}, UnknownPaymentMethod),
        ({"shipping_address": None}, InvalidShippingAddress),
        ({"shipping_address": {**ADDRESS, "city": ""}}, InvalidShippingAddress),
        ({"shipping_address": {**ADDRESS, "latitude": "north"}}, InvalidShippingAddress),
        ({"shipping_address": ADDRESS, "contact_phone": "12"}, InvalidPhone),
        ({"shipping_address": ADDRESS, "line_choices": "collect-at-warehouse"}, InvalidFulfilment),
        ({"shipping_address": ADDRESS, "line_choices": "taken-now-online"}, InvalidFulfilment),
        ({"shipping_address": ADDRESS, "line_choices": "unknown-line"}, InvalidFulfilment),
        ({"shipping_address": ADDRESS, "till_location": "warehouse"}, InvalidFulfilment),
    ],
)
def test_bad_checkout_input_is_a_400_and_nothing_changes(
    shop, stocked_variant, kwargs, error_class
):
    variant = stocked_variant(warehouse=5, store=5)
    cart = cart_create(channel=shop.web)
    line = cart_line_add(cart=cart, variant=variant, quantity=1)
    choices = {
        "collect-at-warehouse": {line.pk: LineChoice("collect", shop.warehouse)},
        "taken-now-online": {line.pk: LineChoice("taken_now")},
        "unknown-line": {line.pk + 1000: LineChoice("ship")},
    }
    if "line_choices" in kwargs:
        kwargs["line_choices"] = choices[kwargs["line_choices"]]
    if kwargs.get("till_location") == "warehouse":
        kwargs["till_location"] = shop.warehouse
    before = snapshot(cart, (variant, shop.warehouse), (variant, shop.store))

    with pytest.raises(error_class) as error:
        checkout(cart, shop.web, **kwargs)

    assert error.value.http_status == 400
    assert snapshot(cart, (variant, shop.warehouse), (variant, shop.store)) == before


def test_a_shipping_address_names_what_is_missing(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    with pytest.raises(InvalidShippingAddress) as error:
        checkout(cart, shop.web, shipping_address={"line1": "x", "country": "France"})

    assert error.value.details["missing"] == ["postal_code", "city", "country"]


def test_an_empty_cart_cannot_be_checked_out(shop):
    with pytest.raises(EmptyCart):
        checkout(cart_create(channel=shop.web), shop.web)
    assert Order.objects.count() == 0


def test_a_cart_is_checked_out_once(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)
    checkout(cart, shop.web, shipping_address=ADDRESS)

    with pytest.raises(CartClosed):
        checkout(Cart.objects.get(pk=cart.pk), shop.web, shipping_address=ADDRESS)

    assert Order.objects.count() == 1
    assert level(variant, shop.warehouse) == (5, 1)
    assert OrderEvent.objects.filter(kind="placed").count() == 1


def test_the_customer_figures_follow_an_order_through_the_outbox(shop, stocked_variant, web_cart):
    from unicommerce.events.services import event_process_batch

    variant = stocked_variant(warehouse=5, price_amount=Decimal("30.00"))
    cart = cart_identify(cart=web_cart((variant, 2)), phone="0655555555", channel=shop.web)
    checkout(cart, shop.web, shipping_address=ADDRESS)
    customer = cart.customer
    customer.refresh_from_db()
    assert customer.order_count == 0  # not yet: the consumer runs after commit

    pending = list(OutboxEvent.objects.filter(topic="order.placed").values_list("pk", flat=True))
    assert event_process_batch(event_ids=pending) >= 1

    customer.refresh_from_db()
    assert (customer.order_count, customer.lifetime_value) == (1, Decimal("60.00"))
    assert (customer.preferred_channel, customer.behaviour) == (shop.web, "online_only")
