"""The selling screen through Django's test client, with and without htmx."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import StockLevel, StockMovement
from orders.exceptions import CheckoutUnavailable
from orders.models import Cart, Order
from orders.services.carts import cart_create, cart_line_add
from payments.models import Payment
from pos.services import sale_complete

HX = {"HTTP_HX_REQUEST": "true"}
SELL = "/pos/sell/"


@pytest.fixture
def seller_client(client, shop):
    client.force_login(shop.seller)
    response = client.post("/pos/", {"register": shop.register.pk})
    assert response.status_code == 302
    assert response["Location"] == SELL
    return client


def test_the_login_page_and_the_register_choice(client, shop):
    assert client.get("/pos/").status_code == 302  # to the login page
    response = client.post("/pos/login/", {"username": "seller", "password": "secret-pass"})
    assert response.status_code == 302

    page = client.get("/pos/").content.decode()

    assert "Till 1" in page
    assert "Paris" in page


def test_a_wrong_password_shows_an_inline_error(client, shop):
    response = client.post("/pos/login/", {"username": "seller", "password": "nope"})

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_a_seller_cannot_open_another_stores_register(client, shop):
    from tests.factories import RegisterFactory

    other = RegisterFactory()
    client.force_login(shop.seller)

    response = client.post("/pos/", {"register": other.pk}, follow=True)

    assert "Choose one of your registers." in response.content.decode()
    assert "pos_register_id" not in client.session


def test_the_full_page_renders_with_the_scan_field_focused(seller_client):
    response = seller_client.get(SELL)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="scan"' in page
    assert "autofocus" in page
    assert "htmx" in page
    assert "X-CSRFToken" in page


def test_scanning_a_barcode_adds_a_line_and_returns_only_the_workspace(
    seller_client, stocked_variant
):
    variant = stocked_variant(store=3, price_amount=Decimal("24.90"))

    response = seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="workspace"')
    assert "<html" not in fragment
    assert f'data-sku="{variant.sku}"' in fragment
    assert "€24.90" in fragment
    cart = Cart.objects.get(token=seller_client.session["pos_cart_token"])
    assert list(cart.lines.values_list("variant_id", "quantity")) == [(variant.pk, 1)]


def test_scanning_twice_adds_to_the_same_line(seller_client, stocked_variant):
    variant = stocked_variant(store=3)
    for _ in range(2):
        seller_client.post(SELL, {"action": "scan", "code": variant.sku.lower()}, **HX)

    cart = Cart.objects.get(token=seller_client.session["pos_cart_token"])
    assert list(cart.lines.values_list("quantity", flat=True)) == [2]


def test_an_unknown_barcode_gets_an_inline_message_and_changes_nothing(seller_client, shop):
    response = seller_client.post(SELL, {"action": "scan", "code": "4006381333931"}, **HX)

    assert response.status_code == 422
    assert "No product has the barcode or SKU “4006381333931”." in response.content.decode()
    assert not Cart.objects.filter(lines__isnull=False).exists()


def test_without_htmx_an_action_redirects_back_with_the_message(seller_client, shop):
    response = seller_client.post(
        SELL, {"action": "scan", "code": "nothing-like-this"}, follow=True
    )

    assert response.redirect_chain == [(SELL, 302)]
    assert "No product has the barcode or SKU" in response.content.decode()


def test_search_returns_the_results_partial_with_stock_here(seller_client, stocked_variant):
    from tests.factories import ProductFactory

    variant = stocked_variant(store=4, product=ProductFactory(name="Linen shirt"))

    response = seller_client.get(SELL, {"code": "linen"}, **HX)

    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="results"')
    assert variant.sku in fragment
    assert "4 here" in fragment


def test_change_is_computed_as_the_cash_is_typed(seller_client, stocked_variant):
    variant = stocked_variant(store=3, price_amount=Decimal("12.40"))
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    response = seller_client.post(SELL, {"action": "change", "tendered": "20"}, **HX)
    assert "€7.60" in response.content.decode()

    response = seller_client.post(SELL, {"action": "change", "tendered": "10"}, **HX)
    assert "less than the amount due" in response.content.decode()


def test_completing_a_cash_sale_takes_the_stock_and_shows_the_change(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(store=3, price_amount=Decimal("12.40"))
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    response = seller_client.post(SELL, {"action": "complete", "tendered": "30,00"}, **HX)

    fragment = response.content.decode()
    order = Order.objects.get()
    assert response.status_code == 200
    assert f"Sale {order.reference} completed" in fragment
    assert "€5.20" in fragment  # 30.00 - 2 × 12.40
    assert order.total_amount == Decimal("24.80")
    assert order.channel == shop.store_channel
    payment = Payment.objects.get(order=order)
    assert (payment.amount, payment.tendered_amount, payment.change_amount) == (
        Decimal("24.80"),
        Decimal("30.00"),
        Decimal("5.20"),
    )
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 1
    movement = StockMovement.objects.get(variant=variant, reason="sale")
    assert (movement.quantity, movement.created_by, movement.source_id) == (
        -2,
        shop.seller,
        str(order.pk),
    )
    # The next sale starts on a fresh cart.
    assert seller_client.session["pos_cart_token"] != order.cart.token


def test_not_enough_cash_is_refused_and_nothing_changes(seller_client, shop, stocked_variant):
    variant = stocked_variant(store=3, price_amount=Decimal("12.40"))
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    response = seller_client.post(SELL, {"action": "complete", "tendered": "10"}, **HX)

    assert response.status_code == 422
    assert "less than the amount due" in response.content.decode()
    assert not Order.objects.exists()
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 3


@pytest.mark.parametrize("tendered", ["", "abc", "1e999999", "NaN", "-5", "12,3,4"])
def test_unreadable_cash_is_refused(seller_client, stocked_variant, tendered):
    variant = stocked_variant(store=3)
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    response = seller_client.post(SELL, {"action": "complete", "tendered": tendered}, **HX)

    assert response.status_code == 422
    assert "Type the cash received" in response.content.decode()
    assert not Order.objects.exists()


def test_selling_more_than_the_store_has_is_refused_and_changes_nothing(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(store=1, warehouse=50)
    for _ in range(2):
        response = seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)
    assert "Only 1 of" in response.content.decode()  # warned while adding

    response = seller_client.post(SELL, {"action": "complete", "tendered": "100"}, **HX)

    assert response.status_code == 422
    assert f"Only 1 of {variant.sku} available at Paris; 2 requested." in response.content.decode()
    assert not Order.objects.exists()
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 1


def test_quantity_buttons_change_and_remove_lines(seller_client, stocked_variant):
    variant = stocked_variant(store=5)
    seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)
    cart = Cart.objects.get(token=seller_client.session["pos_cart_token"])
    line = cart.lines.get()

    seller_client.post(SELL, {"action": "quantity", "line": line.pk, "quantity": 3}, **HX)
    assert cart.lines.get().quantity == 3
    seller_client.post(SELL, {"action": "quantity", "line": line.pk, "quantity": 0}, **HX)
    assert not cart.lines.exists()

    response = seller_client.post(SELL, {"action": "quantity", "line": "x", "quantity": 1}, **HX)
    assert response.status_code == 422


@pytest.mark.parametrize("lines", [1, 8])
def test_the_workspace_partial_costs_a_fixed_number_of_queries(
    seller_client, stocked_variant, django_assert_num_queries, lines
):
    for _ in range(lines):
        variant = stocked_variant(store=5)
        seller_client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX)

    # user, register, cart, the priced lines in one query whatever their number, and the
    # offers (the session comes from Redis, the permissions from the process's few-seconds
    # memory)
    with django_assert_num_queries(5):
        response = seller_client.post(SELL, {"action": "change", "tendered": "500"}, **HX)
    assert "Change to give" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_tills_selling_the_last_unit_at_once_make_exactly_one_order(shop, stocked_variant):
    from tests.factories import RegisterFactory

    variant = stocked_variant(store=1)
    second_register = RegisterFactory(location=shop.store, channel=shop.store_channel)
    from pos.sessions import session_open

    session_open(register=second_register, user=shop.seller, counted="0.00")
    carts = []
    for _ in range(2):
        cart = cart_create(channel=shop.store_channel)
        cart_line_add(cart=cart, variant=variant)
        carts.append(cart)
    registers = [shop.register, second_register]
    barrier = threading.Barrier(2)
    outcomes = [None, None]

    def sell(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = sale_complete(
                payment_method="cash",
                register=registers[index],
                cart=carts[index],
                tendered=Decimal("50"),
                seller=shop.seller,
            )
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]

    # The till sells through the one checkout, which lists what is short.
    assert sorted(type(o).__name__ for o in outcomes) == ["CheckoutUnavailable", "SaleResult"]
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 0
    refused = next(o for o in outcomes if not hasattr(o, "order"))
    assert isinstance(refused, CheckoutUnavailable)
    assert refused.lines[0]["available"] == 0


def test_the_seller_sees_the_stock_here_and_in_every_other_location(
    seller_client, shop, stocked_variant
):
    from inventory.services.reservations import stock_reserve

    variant = stocked_variant(store=2, warehouse=7)
    stock_reserve(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=3)

    fragment = seller_client.get(SELL, {"stock": variant.pk}, **HX).content.decode()
    page = seller_client.get(SELL, {"stock": variant.pk}).content.decode()

    assert fragment.lstrip().startswith('<div id="stock"')
    assert "<html" not in fragment
    assert f"Stock of {variant.product.name}" in fragment
    rows = {row.split('data-location="')[1].split('"')[0]: row for row in fragment.split("<tr")[2:]}
    assert set(rows) == {"paris", "warehouse"}
    assert 'class="num available">2<' in rows["paris"]
    assert "here" in rows["paris"]
    assert 'class="num available">4<' in rows["warehouse"]  # 7 on hand, 3 reserved
    assert '<div id="stock"' in page
    assert "<html" in page


def test_the_stock_panel_closes_and_ignores_nonsense(seller_client, shop):
    for value in ["", "abc", "999999"]:
        response = seller_client.get(SELL, {"stock": value}, **HX)
        fragment = response.content.decode()
        assert response.status_code == 200
        assert fragment.lstrip().startswith('<div id="stock"')
        assert "<table" not in fragment
