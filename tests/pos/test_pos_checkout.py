"""Checking a cart out at the till through the one checkout (orders.order_checkout):
a web cart finished in the store for cash, a mixed basket paid in store later, and
every refusal leaving everything as it was."""

from decimal import Decimal

import pytest
from django.db import transaction

from inventory.models import Reservation, StockLevel, StockMovement
from orders.models import Cart, Order, OrderEvent, OrderLine
from orders.payment_methods import payment_method_get, payment_methods
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from payments.exceptions import TenderMissing
from payments.models import Payment
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db

ADDRESS = {
    "action": "address",
    "ship-name": "Camille Martin",
    "ship-line1": "3 rue de la Paix",
    "ship-postal_code": "75002",
    "ship-city": "Paris",
    "ship-country": "FR",
}


def on_hand(variant, location) -> int:
    return StockLevel.objects.get(variant=variant, location=location).on_hand


def test_a_web_cart_is_finished_at_the_till_for_cash(till, shop, camille, web_cart, tee, scarf):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)

    response = till.post(SELL, {"action": "complete", "tendered": "100"}, **HX)

    assert response.status_code == 200
    order = Order.objects.get()
    fragment = response.content.decode()
    assert f"Sale {order.reference} completed" in fragment
    assert "Cart filled on Web store, checked out on Paris store" in fragment
    assert "€31.20" in fragment  # change: 100 - 68.80
    assert fragment.count('data-fulfilment="taken_now"') == 2
    # One order, from the customer's own cart: web origin, store checkout.
    assert order.cart_id == web_cart.pk
    assert (order.origin_channel, order.channel) == (shop.web, shop.store_channel)
    assert order.customer == camille
    assert order.status == Order.Status.FULFILLED
    assert order.total_amount == Decimal("68.80")
    web_cart.refresh_from_db()
    assert web_cart.status == Cart.Status.CHECKED_OUT
    placed = OrderEvent.objects.get(order=order, kind="placed")
    assert placed.message == "Cart filled on Web store, checked out on Paris store."
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.amount, payment.tendered_amount, payment.change_amount) == (
        "cash",
        Decimal("68.80"),
        Decimal("100.00"),
        Decimal("31.20"),
    )
    # Paid through checkout's "cash" method: in the operations ledger and on the order.
    assert (order.payment_method, order.payment_status) == ("cash", "paid")
    assert list(payment.operations.values_list("kind", "status", "amount")) == [
        ("capture", "succeeded", Decimal("68.80"))
    ]
    # The goods left this store, nothing else.
    assert (on_hand(tee, shop.store), on_hand(scarf, shop.store)) == (3, 2)
    assert (on_hand(tee, shop.warehouse), on_hand(scarf, shop.warehouse)) == (10, 6)
    assert StockMovement.objects.filter(reason="sale", location=shop.store).count() == 2
    # The next sale starts on a fresh, anonymous cart of the store.
    assert till.session["pos_cart_token"] != web_cart.token


def test_a_mixed_basket_is_placed_and_paid_in_store_later(
    till, shop, lyon, camille, web_cart, tee, scarf, stocked_variant
):
    from inventory.services.stock import stock_receive

    stock_receive(variant_id=tee.pk, location_id=lyon.pk, quantity=4)
    cap = stocked_variant(store=2, sku="CAP-GREY")
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    till.post(SELL, {"action": "scan", "code": cap.barcode}, **HX)
    tee_line = web_cart.lines.get(variant=tee)
    scarf_line = web_cart.lines.get(variant=scarf)
    till.post(
        SELL,
        {"action": "fulfilment", "line": tee_line.pk, "fulfilment": f"collect:{lyon.pk}"},
        **HX,
    )
    till.post(SELL, {"action": "fulfilment", "line": scarf_line.pk, "fulfilment": "ship"}, **HX)
    till.post(SELL, ADDRESS, **HX)

    response = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    assert response.status_code == 200
    fragment = response.content.decode()
    assert "click &amp; collect at Lyon" in fragment
    assert "shipped from" in fragment
    assert "handed over once paid" in fragment  # the cap: not paid yet, so not taken yet
    assert "to be paid in store" in fragment
    order = Order.objects.get()
    assert order.payment_method == "pay_in_store"
    assert order.shipping_address["line1"] == "3 rue de la Paix"
    # Goods never leave unpaid: the cap waits here for the payment (test_pos_unpaid).
    assert order.status == Order.Status.PLACED
    lines = {line.sku: line for line in OrderLine.objects.filter(order=order)}
    assert (lines["CAP-GREY"].fulfilment, lines["CAP-GREY"].location) == ("taken_now", shop.store)
    assert lines["CAP-GREY"].status == OrderLine.Status.OPEN
    assert (lines["TEE-NAVY-M"].fulfilment, lines["TEE-NAVY-M"].location) == ("collect", lyon)
    assert lines["SCARF-RED"].fulfilment == "ship"
    assert not Payment.objects.exists()  # nothing is faked as paid
    assert OrderEvent.objects.filter(order=order, kind="awaiting_payment").exists()
    # The cap is held in Paris; the tees are held in Lyon, the scarf where it ships from.
    assert on_hand(cap, shop.store) == 2
    assert Reservation.objects.get(variant=cap, location=shop.store).quantity == 1
    collect = Reservation.objects.get(variant=tee, location=lyon)
    assert (collect.quantity, collect.status) == (2, Reservation.Status.ACTIVE)
    shipped = Reservation.objects.get(variant=scarf)
    assert shipped.location == lines["SCARF-RED"].location
    assert "pos_ship_address" not in till.session


def test_a_shipped_line_without_an_address_is_refused_and_nothing_changes(
    till, shop, web_cart, scarf
):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    line = web_cart.lines.get(variant=scarf)
    till.post(SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": "ship"}, **HX)

    response = till.post(SELL, {"action": "complete", "tendered": "100"}, **HX)

    assert response.status_code == 422
    page = response.content.decode()
    # The seller's sentence, not the checkout's field codes (the API keeps those).
    assert "save the customer’s full shipping address" in page
    assert "line1" not in page.split('id="pos-message"')[1].split("</div>")[0]
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert till.session["pos_cart_token"] == web_cart.token


def test_a_line_short_where_it_is_collected_is_listed_and_nothing_changes(
    till, shop, lyon, web_cart, tee, scarf
):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    line = web_cart.lines.get(variant=tee)
    till.post(
        SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": f"collect:{lyon.pk}"}, **HX
    )

    response = till.post(SELL, {"action": "complete", "tendered": "100"}, **HX)

    assert response.status_code == 422
    text = response.content.decode()
    assert "Only 0 of TEE-NAVY-M available at Lyon; 2 requested." in text
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert on_hand(scarf, shop.store) == 3


def test_several_short_lines_are_listed_one_by_one(till, shop, lyon, web_cart):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    for line in web_cart.lines.all():
        till.post(
            SELL,
            {"action": "fulfilment", "line": line.pk, "fulfilment": f"collect:{lyon.pk}"},
            **HX,
        )

    response = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    assert response.status_code == 422
    text = response.content.decode()
    assert "These lines are not available in the quantity asked for:" in text
    assert "<li>Only 0 of TEE-NAVY-M available at Lyon; 2 requested.</li>" in text
    assert "<li>Only 0 of SCARF-RED available at Lyon; 1 requested.</li>" in text
    assert not Order.objects.exists()


def test_short_cash_is_refused_before_anything_is_checked(till, shop, web_cart, tee):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)

    response = till.post(SELL, {"action": "complete", "tendered": "50"}, **HX)

    assert response.status_code == 422
    assert "less than the amount due" in response.content.decode()
    assert not Order.objects.exists()
    assert on_hand(tee, shop.store) == 5


def test_cash_is_a_payment_method_of_stores_only(shop):
    assert "cash" in [m.code for m in payment_methods(channel=shop.store_channel)]
    assert "cash" not in [m.code for m in payment_methods(channel=shop.web)]
    assert "pay_in_store" in [m.code for m in payment_methods(channel=shop.store_channel)]
    assert str(payment_method_get("cash", channel=shop.store_channel).label) == "Cash"


def test_the_cash_handoff_needs_the_cash_received_or_the_checkout_rolls_back(shop, tee):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, channel=shop.store_channel)

    with pytest.raises(TenderMissing), transaction.atomic():
        order_checkout(
            cart=cart,
            channel=shop.store_channel,
            payment_method="cash",
            till_location=shop.store,
            user=shop.seller,
        )

    assert not Order.objects.exists()
    assert on_hand(tee, shop.store) == 5
    cart.refresh_from_db()
    assert cart.status == Cart.Status.OPEN


def test_the_receipt_partial_costs_a_fixed_number_of_queries(
    till, shop, web_cart, django_assert_num_queries
):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    till.post(SELL, {"action": "complete", "tendered": "100"}, **HX)

    # user, register, the register's cart, its (no) lines (the session from Redis, the
    # permissions remembered),
    # the receipt's order with both channels and customer, and its lines; the product
    # grid: categories, a page of products, their variants, barcodes, units here, pictures
    with django_assert_num_queries(12):
        response = till.get(SELL)
    assert "Cart filled on Web store, checked out on Paris store" in response.content.decode()
