"""The till's side of issue 14: a voucher scanned onto the sale (or refused naming the
reason, and not kept), a manual discount under the seller's cap and above it with a
manager's approval, a gift card scanned to the pay area and the rest in cash, store
credit and points of the identified customer, refusals that place nothing and take
nothing, and the customer's balances on their panel."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from loyalty.models import GiftCard, GiftCardEntry, PointsProgramme, StoreCreditEntry
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue
from loyalty.services.points import points_balance, points_earn
from loyalty.services.store_credit import store_credit_add, store_credit_balance
from orders.models import Cart, CartDiscount, CartVoucher, Order
from orders.services.cart_identity import cart_identify
from orders.services.carts import cart_create, cart_line_add
from payments.models import Payment
from pos.services import sale_complete
from tests.factories import ProductFactory, UserFactory
from tests.loyalty.voucher_data import campaign, code
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def basket(till, shop, tee, scarf):
    """Two tees (19.90) and a scarf (29.00) at the till: 68.80."""
    for variant in (tee, tee, scarf):
        assert till.post(SELL, {"action": "add", "variant": variant.pk}, **HX).status_code == 200
    return Cart.objects.get(token=till.session["pos_cart_token"])


@pytest.fixture
def card():
    """A physical gift card of 30.00."""
    return gift_card_issue(
        amount=D("30.00"), currency="EUR", purpose=GiftCard.Purpose.MULTI, code="7K9M2P4Q8R3T6V5W"
    )


@pytest.fixture
def manager(shop):
    user = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(user)
    return user


def post(till, **data):
    return till.post(SELL, data, **HX)


def key_of(html: str, action: str) -> str:
    pattern = rf'name="action" value="{action}"><input type="hidden" name="key" value="(\w+)"'
    return re.search(pattern, html).group(1)


def sell_page(till) -> str:
    return till.get(SELL).content.decode()


# --- Vouchers ------------------------------------------------------------------------


def test_a_voucher_scanned_goes_on_the_cart_with_its_amount_and_comes_off(till, basket):
    code(campaign(name="Noël"), "NOEL2345")

    response = post(till, action="scan", code="noel-2345")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Code NOEL2345 applied: −€6.88." in html
    assert 'data-code="NOEL2345"' in html
    assert 'id="discounts">−€6.88<' in html
    assert 'id="total">€61.92<' in html
    assert 'class="line-discount" data-source="voucher"' in html
    assert CartVoucher.objects.filter(cart=basket, voucher__code="NOEL2345").exists()

    removed = post(till, action="voucher_remove", code="NOEL2345")

    assert removed.status_code == 200
    assert 'id="total">€68.80<' in removed.content.decode()
    assert not CartVoucher.objects.filter(cart=basket).exists()


def test_a_voucher_below_its_minimum_is_refused_naming_the_reason_and_not_kept(till, basket):
    code(campaign(min_subtotal=D("100.00")), "MIN100AB")

    response = post(till, action="scan", code="MIN100AB")

    assert response.status_code == 422
    assert "100" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not CartVoucher.objects.filter(cart=basket).exists()
    assert 'id="total">€68.80<' in response.content.decode()


def test_an_unknown_code_is_still_no_product(till, basket):
    response = post(till, action="scan", code="NOPE1234")

    assert response.status_code == 422
    assert "No product has the barcode or SKU “NOPE1234”" in response.content.decode()
    assert not CartVoucher.objects.exists()


# --- Manual discounts ------------------------------------------------------------------


def test_a_line_discount_under_the_sellers_cap_is_given_and_shown_under_its_line(till, basket, tee):
    line = basket.lines.get(variant=tee)

    response = post(
        till, action="discount", line=line.pk, kind="percent", value="10", reason="Loose thread"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Discount given." in html
    assert "Loose thread" in html
    assert 'id="discounts">−€3.98<' in html
    assert 'id="total">€64.82<' in html
    assert CartDiscount.objects.get(cart=basket, line=line).approved_by is None


def test_a_basket_discount_above_the_cap_asks_a_manager_then_is_recorded(till, basket, manager):
    asked = post(till, action="discount", line="basket", kind="percent", value="30", reason="VIP")

    assert asked.status_code == 422
    html = asked.content.decode()
    assert "above your limit of 10 %" in html
    assert 'name="manager"' in html
    assert 'name="password"' in html
    assert not CartDiscount.objects.exists()

    wrong = post(
        till,
        action="discount",
        line="basket",
        kind="percent",
        value="30",
        reason="VIP",
        manager="manon",
        password="not-it",
    )
    assert wrong.status_code == 422
    assert "Wrong username or password." in wrong.content.decode()
    assert not CartDiscount.objects.exists()

    approved = post(
        till,
        action="discount",
        line="basket",
        kind="percent",
        value="30",
        reason="VIP",
        manager="manon",
        password="secret-pass",
    )

    assert approved.status_code == 200
    html = approved.content.decode()
    assert 'id="discounts">−€20.64<' in html
    assert 'id="total">€48.16<' in html
    assert "Basket discount: VIP" in html
    assert CartDiscount.objects.get(cart=basket, line=None).approved_by == manager

    post(till, action="discount_remove", line="basket")
    assert not CartDiscount.objects.exists()


def test_a_discount_without_a_reason_is_refused_in_its_form(till, basket, tee):
    line = basket.lines.get(variant=tee)

    response = post(till, action="discount", line=line.pk, kind="amount", value="2", reason="")

    assert response.status_code == 422
    assert "Say why the discount is given." in response.content.decode()
    assert not CartDiscount.objects.exists()


# --- Gift card, points, store credit ----------------------------------------------------


def test_a_gift_card_scanned_pays_part_and_cash_the_rest_on_the_receipt(till, basket, card):
    scanned = post(till, action="scan", code=card.code.lower())

    assert scanned.status_code == 200
    html = scanned.content.decode()
    assert "Card …" in html
    assert "€30.00 left" in html
    assert not basket.lines.exclude(variant__product__gift_card="").exists()  # not on the cart
    assert 'value="30.00"' in html  # the amount it pays by default: all it can

    paid = post(
        till,
        action="pay_tenders",
        gift_card_amount="30",
        rest="cash",
        tendered="50",
        key=key_of(html, "pay_tenders"),
    )

    assert paid.status_code == 200, paid.content.decode()[:2000]
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert order.payment_method == "split"  # not "card_terminal": no terminal was used
    assert sorted(order.payments.values_list("method", "amount")) == [
        ("cash", D("38.80")),
        ("gift_card", D("30.00")),
    ]
    assert gift_card_balance(card.card) == D("0.00")
    receipt = sell_page(till)
    assert 'class="paid-gift_card">€30.00' in receipt
    assert "€0.00 left on the card" in receipt
    assert 'class="paid-cash">€38.80' in receipt
    assert 'class="change-due">€11.20<' in receipt
    assert 'class="receipt-vat"' in receipt


def test_a_gift_card_asked_for_more_than_it_holds_places_nothing_and_takes_nothing(
    till, basket, card
):
    html = post(till, action="scan", code=card.code).content.decode()

    refused = post(
        till,
        action="pay_tenders",
        gift_card_amount="40",
        rest="cash",
        tendered="40",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert "€40.00 is more than the €30.00 left on this gift card." in refused.content.decode()
    assert not Order.objects.exists()
    assert GiftCardEntry.objects.filter(card=card.card).count() == 1  # the issue only
    assert Cart.objects.get(pk=basket.pk).status == Cart.Status.OPEN


def test_a_wrong_gift_card_code_typed_places_nothing(till, basket):
    html = sell_page(till)

    refused = post(
        till,
        action="pay_tenders",
        gift_card_code="ZZZZZZZZZZZZZZZZ",
        gift_card_amount="10",
        rest="card",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert "This gift card code is not valid" in refused.content.decode()
    assert not Order.objects.exists()
    assert not Payment.objects.exists()


def test_not_enough_cash_for_the_rest_places_nothing(till, basket, card):
    html = post(till, action="scan", code=card.code).content.decode()

    refused = post(
        till,
        action="pay_tenders",
        gift_card_amount="30",
        rest="cash",
        tendered="10",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert not Order.objects.exists()
    assert gift_card_balance(card.card) == D("30.00")


@pytest.fixture
def camille_at_till(till, basket, shop, camille):
    cart_identify(
        cart=basket,
        phone=camille.phone,
        email="",
        channel=shop.store_channel,
        verified=True,
    )
    return camille


def test_store_credit_and_points_of_the_customer_pay_with_the_rest_on_the_card(
    till, basket, camille_at_till
):
    camille = camille_at_till
    PointsProgramme.objects.create(
        name="Fidélité", currency="EUR", points_per_unit=D("1"), point_value=D("0.05")
    )
    points_earn(customer=camille, amount=D("200"), currency="EUR", reference="UC-OLD")
    store_credit_add(customer=camille, amount=D("20.00"), currency="EUR", reason="adjustment")
    html = sell_page(till)
    assert 'data-figure="pay:points">200 points, worth €10.00<' in html
    assert 'data-figure="pay:store_credit">€20.00 available<' in html

    paid = post(
        till,
        action="pay_tenders",
        points_amount="10",
        store_credit_amount="20",
        rest="card",
        key=key_of(html, "pay_tenders"),
    )

    assert paid.status_code == 200, paid.content.decode()[:2000]
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert sorted(order.payments.values_list("method", "amount")) == [
        ("card_terminal", D("38.80")),
        ("points", D("10.00")),
        ("store_credit", D("20.00")),
    ]
    assert store_credit_balance(customer=camille, currency="EUR") == 0
    programme = PointsProgramme.objects.get()
    assert points_balance(customer=camille, programme=programme) == 0


def test_more_store_credit_than_held_is_refused_and_nothing_is_spent(till, basket, camille_at_till):
    camille = camille_at_till
    store_credit_add(customer=camille, amount=D("5.00"), currency="EUR", reason="adjustment")
    html = sell_page(till)

    refused = post(
        till,
        action="pay_tenders",
        store_credit_amount="20",
        rest="card",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert "more than the €5.00 of store credit available" in refused.content.decode()
    assert not Order.objects.exists()
    assert StoreCreditEntry.objects.filter(customer=camille).count() == 1


def test_points_without_a_customer_are_refused(till, basket):
    html = sell_page(till)

    refused = post(
        till, action="pay_tenders", points_amount="5", rest="card", key=key_of(html, "pay_tenders")
    )

    assert refused.status_code == 422
    assert "Identify the customer first" in refused.content.decode()
    assert not Order.objects.exists()


def test_the_customer_panel_shows_points_and_store_credit(till, camille):
    PointsProgramme.objects.create(
        name="Fidélité", currency="EUR", points_per_unit=D("1"), point_value=D("0.05")
    )
    points_earn(customer=camille, amount=D("120"), currency="EUR", reference="UC-OLD")
    store_credit_add(customer=camille, amount=D("12.50"), currency="EUR", reason="adjustment")

    response = post(till, action="find", find=camille.email)

    html = response.content.decode()
    assert 'data-figure="customer:points">120 points, worth €6.00<' in html
    assert 'data-figure="customer:store_credit">€12.50 store credit<' in html


def test_a_card_drained_between_the_check_and_the_payment_leaves_the_order_to_finish(
    till, basket, card, monkeypatch
):
    """Another till spent the card after this one checked it: the order is placed, the
    seller is told, nothing is taken from the card, and the payment panel finishes it."""
    html = post(till, action="scan", code=card.code).content.decode()
    monkeypatch.setattr("pos.services._ledger_tenders_check", lambda **kwargs: None)

    response = post(
        till,
        action="pay_tenders",
        gift_card_amount="35",
        rest="cash",
        tendered="40",
        key=key_of(html, "pay_tenders"),
    )

    assert response.status_code == 422
    fragment = response.content.decode()
    order = Order.objects.get()
    assert f"Order {order.reference} is placed, but its payment could not be recorded" in fragment
    assert "€35.00 is more than the €30.00 left on this gift card." in fragment
    assert 'id="payment-panel"' in fragment
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert gift_card_balance(card.card) == D("30.00")
    assert not order.payments.filter(status=Payment.Status.CAPTURED).exists()


def test_the_payment_panel_takes_a_gift_card_and_store_credit(till, shop, camille, tee, card):
    cart = cart_create(channel=shop.store_channel, customer=camille)
    cart_line_add(cart=cart, variant=tee, quantity=2, channel=shop.store_channel)
    order = sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    ).order
    store_credit_add(customer=camille, amount=D("9.80"), currency="EUR", reason="adjustment")
    url = f"/pos/orders/{order.reference}/payment/"
    panel = till.get(url, **HX).content.decode()
    assert 'data-figure="pay:store_credit">€9.80 available<' in panel

    gift = till.post(
        url,
        {
            "action": "gift_card",
            "gift_card_code": card.code,
            "gift_card_amount": "30",
            "key": key_of(panel, "gift_card"),
        },
        **HX,
    )
    assert gift.status_code == 200
    assert "€30.00 paid with a gift card." in gift.content.decode()
    credit = till.post(
        url,
        {
            "action": "store_credit",
            "store_credit_amount": "9.80",
            "key": key_of(gift.content.decode(), "store_credit"),
        },
        **HX,
    )

    assert credit.status_code == 200
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert gift_card_balance(card.card) == D("0.00")
    assert store_credit_balance(customer=camille, currency="EUR") == 0


def test_a_wrong_gift_card_at_the_payment_panel_is_said_and_takes_nothing(till, shop, tee, card):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    order = sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    ).order
    url = f"/pos/orders/{order.reference}/payment/"
    panel = till.get(url, **HX).content.decode()

    refused = till.post(
        url,
        {
            "action": "gift_card",
            "gift_card_code": "ZZZZZZZZZZZZZZZZ",
            "gift_card_amount": "5",
            "key": key_of(panel, "gift_card"),
        },
        **HX,
    )

    assert refused.status_code == 422
    assert "This gift card code is not valid" in refused.content.decode()
    assert 'id="pay-gift-card-code" name="gift_card_code"' in refused.content.decode()
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.UNPAID


# --- Selling a gift card ----------------------------------------------------------------


@pytest.fixture
def gift_card_product(stocked_variant):
    return stocked_variant(
        store=10,
        sku="GIFT-50",
        price_amount=D("50.00"),
        product=ProductFactory(name="Gift card 50", gift_card="multi", vat_rate=D("0")),
    )


def test_a_gift_card_sold_at_the_till_is_issued_with_the_scanned_code_once_paid(
    till, shop, gift_card_product
):
    post(till, action="add", variant=gift_card_product.pk)
    cart = Cart.objects.get(token=till.session["pos_cart_token"])
    line = cart.lines.get()
    scanned = post(till, action="card_code", line=line.pk, card_code="q8r3-t6v5-w7k9-m2p4")
    assert scanned.status_code == 200
    assert "1 of 1 card scanned" in scanned.content.decode()

    paid = post(till, action="complete", method="cash", tendered="50")

    assert paid.status_code == 200
    card = GiftCard.objects.get()
    assert gift_card_balance(card) == D("50.00")
    assert card.last4 == "M2P4"
    assert card.delivery == GiftCard.Delivery.PHYSICAL
    assert "Gift cards issued: <code>…M2P4</code>" in sell_page(till)


def test_a_bad_card_code_is_refused_in_the_line(till, gift_card_product):
    post(till, action="add", variant=gift_card_product.pk)
    line = Cart.objects.get(token=till.session["pos_cart_token"]).lines.get()

    refused = post(till, action="card_code", line=line.pk, card_code="SHORT")

    assert refused.status_code == 422
    assert "A gift card code needs at least 16 characters" in refused.content.decode()


def test_a_gift_card_cannot_pay_for_a_gift_card(till, gift_card_product, card):
    post(till, action="add", variant=gift_card_product.pk)
    html = post(till, action="scan", code=card.code).content.decode()

    refused = post(
        till,
        action="pay_tenders",
        gift_card_amount="30",
        rest="cash",
        tendered="20",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert "a gift card cannot pay for a gift card" in refused.content.decode()
    assert not Order.objects.exists()


def test_tenders_above_the_total_are_refused_before_anything(till, basket, card):
    html = post(till, action="scan", code=card.code).content.decode()

    refused = post(
        till,
        action="pay_tenders",
        gift_card_amount="70",
        rest="card",
        key=key_of(html, "pay_tenders"),
    )

    assert refused.status_code == 422
    assert "(€70.00) are more than the total (€68.80)." in refused.content.decode()
    assert not Order.objects.exists()
