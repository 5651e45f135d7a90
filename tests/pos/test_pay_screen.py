"""The sale screen's one pay area (issue 12): every tender on it, each taking the sale in
one action — cash, a card on the terminal (checkout and the terminal's approval), cash +
card (the cash part first, the rest on the card), a payment link by SMS (the order
placed, its status in view) — and "pay in store later" as a secondary choice. Bad input
is refused inline and changes nothing. Also: the customer named at the till, and the
checkout's developer wording kept out of the till."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from customers.models import Customer
from inventory.models import StockLevel
from orders.models import Cart, Order
from payments.gateways import simulated
from payments.models import Payment, PaymentLink
from pos.tenders import TENDERS
from pos.web import sale
from tests.pos.conftest import HX, SELL
from unicommerce.access.table import SELL_ACTIONS, TABLE
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message


@pytest.fixture(autouse=True)
def clean_outboxes(settings):
    settings.PUBLIC_BASE_URL = "https://shop.example"
    backends.outbox.clear()
    simulated.reset()
    yield
    backends.outbox.clear()
    simulated.reset()


@pytest.fixture
def basket(till, tee, scarf):
    """Two tees and a scarf at the till: €68.80."""
    for variant in (tee, tee, scarf):
        till.post(SELL, {"action": "add", "variant": variant.pk}, **HX)
    return Cart.objects.get(token=till.session["pos_cart_token"])


def key(fragment: str, action: str) -> str:
    """The idempotency key of the pay area's form for ``action``."""
    pattern = rf'name="action" value="{action}"><input type="hidden" name="key" value="(\w+)"'
    return re.search(pattern, fragment).group(1)


def page(till) -> str:
    return till.get(SELL).content.decode()


def nothing_changed(till, cart: Cart) -> None:
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not PaymentLink.objects.exists()
    assert not Message.objects.exists()
    assert till.session["pos_cart_token"] == cart.token
    assert sorted(cart.lines.values_list("quantity", flat=True)) == [1, 2]


# --- the tenders, as data ---------------------------------------------------------------


def test_every_tender_of_the_list_is_on_the_pay_area_with_its_action(till, basket):
    html = page(till)

    for tender in TENDERS:
        assert f'id="pay-with-{tender.code}"' in html
        assert f'name="action" value="{tender.action}"' in html
        assert tender.action in sale.ACTIONS
        assert f"pos:sell POST {tender.action}" in TABLE
    assert [t.code for t in TENDERS] == ["cash", "card", "split", "link", "ledger"]
    assert 'id="pay-with-cash" value="cash" checked' in html  # cash is the default
    for element in (
        'id="total"',
        'id="tendered"',
        'id="change"',
        'id="complete"',
        'id="pay-later"',
    ):
        assert element in html
    assert set(SELL_ACTIONS) == set(sale.ACTIONS)


# --- card: one action -------------------------------------------------------------------


def test_a_card_sale_is_one_action_and_its_receipt_says_paid(till, shop, basket, tee):
    form_key = key(page(till), "pay_card")

    response = till.post(SELL, {"action": "pay_card", "key": form_key}, **HX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.total_amount == Decimal("68.80")
    assert order.payment_status == Order.PaymentStatus.PAID
    payment = Payment.objects.get()
    assert (payment.method, payment.status, payment.amount) == (
        Payment.Method.CARD_TERMINAL,
        Payment.Status.CAPTURED,
        Decimal("68.80"),
    )
    assert payment.channel == shop.store_channel
    html = response.content.decode()
    assert f"Sale {order.reference} completed" in html
    assert '<h3 class="paid-title">Paid</h3>' in html
    assert 'class="paid-card">€68.80<' in html
    assert till.session["pos_cart_token"] != basket.token  # the register starts a new cart
    # Paid in full: the goods taken now left the store's stock, nothing stays reserved.
    level = StockLevel.objects.get(variant=tee, location=shop.store)
    assert (level.on_hand, level.reserved) == (3, 0)


def test_a_second_click_on_card_records_nothing_more(till, basket):
    form_key = key(page(till), "pay_card")
    till.post(SELL, {"action": "pay_card", "key": form_key}, **HX)

    again = till.post(SELL, {"action": "pay_card", "key": form_key}, **HX)

    assert again.status_code == 422
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1


def test_a_card_sale_without_its_form_key_is_refused_and_changes_nothing(till, basket):
    response = till.post(SELL, {"action": "pay_card", "key": ""}, **HX)

    assert response.status_code == 422
    assert "This form has expired" in response.content.decode()
    nothing_changed(till, basket)


# --- cash + card ------------------------------------------------------------------------


def test_a_split_takes_the_cash_part_first_and_the_rest_on_the_card(till, basket):
    form_key = key(page(till), "pay_split")

    response = till.post(SELL, {"action": "pay_split", "key": form_key, "tendered": "20"}, **HX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert sorted(order.payments.values_list("method", "amount", "status")) == [
        ("card_terminal", Decimal("48.80"), "captured"),
        ("cash", Decimal("20.00"), "captured"),
    ]
    html = response.content.decode()
    assert 'class="paid-cash">€20.00<' in html
    assert 'class="paid-card">€48.80<' in html
    assert '<h3 class="paid-title">Paid</h3>' in html


def test_a_split_whose_cash_covers_the_total_is_a_cash_sale_with_the_change(till, basket):
    form_key = key(page(till), "pay_split")

    response = till.post(SELL, {"action": "pay_split", "key": form_key, "tendered": "100"}, **HX)

    assert response.status_code == 200
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.change_amount) == (
        "cash",
        Decimal("68.80"),
        Decimal("31.20"),
    )
    assert 'class="change-due">€31.20<' in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Type the cash part, e.g. 20 or 20.50."),
        ("-5", "Type the cash part, e.g. 20 or 20.50."),
        ("abc", "Type the cash part, e.g. 20 or 20.50."),
        ("", "Type the cash part, e.g. 20 or 20.50."),
        ("12.3.4", "Type the cash part, e.g. 20 or 20.50."),
    ],
)
def test_a_bad_cash_part_is_refused_inline_and_changes_nothing(till, basket, typed, message):
    form_key = key(page(till), "pay_split")

    response = till.post(SELL, {"action": "pay_split", "key": form_key, "tendered": typed}, **HX)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    # The split stays picked, what was typed is still there, the field is marked.
    assert 'id="pay-with-split" value="split" checked' in html
    field = re.search(r'<input id="split-cash"[^>]*>', html, re.S).group(0)
    assert f'value="{typed}"' in field
    assert 'aria-invalid="true"' in field
    nothing_changed(till, basket)


def test_the_split_preview_says_what_goes_on_the_card(till, basket):
    preview = till.post(SELL, {"action": "change", "tender": "split", "tendered": "20"}, **HX)
    assert 'id="split-preview"' in preview.content.decode()
    assert "On the card <strong>€48.80</strong>" in preview.content.decode()

    covered = till.post(SELL, {"action": "change", "tender": "split", "tendered": "70"}, **HX)
    assert "change to give <strong>€1.20</strong>" in covered.content.decode()
    assert not Payment.objects.exists()


# --- cash stays one action --------------------------------------------------------------


def test_cash_stays_one_action_and_short_cash_changes_nothing(till, basket):
    short = till.post(SELL, {"action": "complete", "method": "cash", "tendered": "50"}, **HX)
    assert short.status_code == 422
    assert 'id="tendered"' in short.content.decode()
    nothing_changed(till, basket)

    response = till.post(SELL, {"action": "complete", "method": "cash", "tendered": "70"}, **HX)

    assert response.status_code == 200
    assert Order.objects.get().payment_status == Order.PaymentStatus.PAID
    assert 'class="change-due">€1.20<' in response.content.decode()


# --- payment link -----------------------------------------------------------------------


def test_a_link_sale_places_the_order_and_texts_the_link_and_keeps_its_status_in_view(
    till, basket, camille, django_capture_on_commit_callbacks
):
    form_key = key(page(till), "pay_link")

    with django_capture_on_commit_callbacks(execute=True):
        response = till.post(
            SELL,
            {"action": "pay_link", "key": form_key, "phone": "06 12 34 56 78", "language": "en"},
            **HX,
        )

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.payment_method == "payment_link"
    assert order.payment_status == Order.PaymentStatus.UNPAID
    link = PaymentLink.objects.get()
    assert (link.order, link.amount, link.phone, link.language) == (
        order,
        Decimal("68.80"),
        "+33612345678",
        "en",
    )
    assert Message.objects.get().to == "+33612345678"
    html = response.content.decode()
    assert f"Order {order.reference} placed" in html
    assert f'data-link="{link.pk}"' in html
    # The status refreshes by itself (the payment panel's live part polls).
    assert re.search(r'id="payment-live"[^>]*hx-get="[^"]*since=', html)
    # "New sale" is at the receipt's head, far from the panel's "Send the link".
    assert (
        html.index(">New sale<") < html.index('id="payment-panel"') < html.index(">Send the link<")
    )


@pytest.mark.parametrize("phone", ["12", "", "not a phone"])
def test_a_link_to_a_bad_phone_is_refused_inline_and_changes_nothing(till, basket, phone):
    form_key = key(page(till), "pay_link")

    response = till.post(
        SELL, {"action": "pay_link", "key": form_key, "phone": phone, "language": "fr"}, **HX
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "is not a valid phone number" in html
    assert 'id="pay-with-link" value="link" checked' in html
    field = re.search(r'<input id="link-phone"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in field
    nothing_changed(till, basket)


def test_links_sent_from_the_pay_area_count_against_the_sms_limit(till, basket, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "payment_link_send_per_caller": "1/hour"}
    till.post(SELL, {"action": "change", "tendered": "1"}, **HX)  # not counted
    first = till.post(
        SELL, {"action": "pay_link", "key": "k" * 10, "phone": "12", "language": "fr"}, **HX
    )
    assert first.status_code == 422

    second = till.post(
        SELL,
        {"action": "pay_link", "key": key(page(till), "pay_link"), "phone": "0612345678"},
        **HX,
    )

    assert second.status_code == 429
    nothing_changed(till, basket)


def test_pay_in_store_later_stays_a_secondary_choice(till, basket):
    response = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert not Payment.objects.exists()
    assert 'id="payment-panel"' in response.content.decode()


# --- the customer named at the till -----------------------------------------------------


def test_a_new_customer_is_named_at_the_till_and_gets_the_cart(till, shop, basket):
    response = till.post(
        SELL,
        {
            "action": "identify",
            "first_name": " Léa ",
            "last_name": "Dubois",
            "phone": "07 81 22 33 44",
            "email": "Lea.Dubois@example.com",
        },
        **HX,
    )

    assert response.status_code == 200
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.phone, customer.email) == (
        "Léa",
        "Dubois",
        "+33781223344",
        "lea.dubois@example.com",
    )
    assert customer.source_channel == shop.store_channel
    basket.refresh_from_db()
    assert basket.customer == customer
    html = response.content.decode()
    assert 'data-known="false"' in html
    assert "Léa Dubois" in html


def test_an_existing_customer_found_by_email_keeps_their_name(till, basket, camille):
    response = till.post(
        SELL,
        {
            "action": "identify",
            "first_name": "Someone",
            "last_name": "Else",
            "email": "CAMILLE@example.com",
        },
        **HX,
    )

    assert response.status_code == 200
    camille.refresh_from_db()
    assert (camille.first_name, camille.last_name) == ("Camille", "Martin")
    assert Customer.objects.count() == 1
    assert Cart.objects.get(token=till.session["pos_cart_token"]).customer == camille
    assert 'data-known="true"' in response.content.decode()


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"first_name": "Léa"}, "phone", "Type the customer&#x27;s phone number or email."),
        ({"phone": "12"}, "phone", "is not a valid phone number"),
        ({"email": "lea@"}, "email", "is not a valid email address"),
        ({"phone": "0781223344", "email": "nope"}, "email", "is not a valid email address"),
        ({"phone": "0781223344", "first_name": "x" * 101}, "first-name", "At most 100"),
    ],
)
def test_bad_customer_details_are_refused_in_the_form_and_change_nothing(
    till, basket, posted, field, message
):
    response = till.post(SELL, {"action": "identify", **posted}, **HX)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert '<details class="identify-box" open>' in html
    marked = re.search(rf'<input id="identify-{field}"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in marked
    assert not Customer.objects.exists()
    basket.refresh_from_db()
    assert basket.customer is None


def test_a_phone_and_an_email_of_two_customers_are_refused_in_words_a_seller_reads(
    till, basket, camille
):
    from tests.factories import CustomerFactory

    CustomerFactory(email="other@example.com", phone="+33700000001")

    response = till.post(
        SELL, {"action": "identify", "phone": "06 12 34 56 78", "email": "other@example.com"}, **HX
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "belong to two different customers: give only one of them" in html
    assert "merge them first" not in html
    basket.refresh_from_db()
    assert basket.customer is None


# --- developer wording out of the till ------------------------------------------------


@pytest.mark.parametrize("method", ["bitcoin", "payment_link", "pay_later"])
def test_completing_with_another_method_is_refused_without_codes(till, basket, method):
    response = till.post(SELL, {"action": "complete", "method": method}, **HX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose how the customer pays." in html
    assert "use one of" not in html
    nothing_changed(till, basket)


def test_the_tills_sentences_replace_the_services_developer_wording():
    from orders.exceptions import InvalidShippingAddress, UnknownPaymentMethod
    from payments.exceptions import CardNumberRefused, OrderNotPayable
    from pos.messages import seller_message

    address = seller_message(InvalidShippingAddress(["line1", "postal_code"]))
    assert "line1" not in address
    assert "postal code" in address
    method = seller_message(UnknownPaymentMethod("bitcoin", ["cash", "pay_in_store"]))
    assert method == "This way of paying is not available at this till."
    assert "token" not in seller_message(CardNumberRefused())
    cancelled = seller_message(OrderNotPayable(order="UC1", status="cancelled"))
    assert cancelled == "Order UC1 is cancelled: it can no longer be paid."
    # The API keeps the services' own words and codes.
    assert "line1, postal_code" in InvalidShippingAddress(["line1", "postal_code"]).message


def test_a_card_not_recorded_after_checkout_leaves_the_order_to_its_payment_panel(
    till, basket, monkeypatch
):
    from payments.exceptions import PaymentGatewayUnavailable
    from pos import services

    def unavailable(**kwargs):
        raise PaymentGatewayUnavailable(gateway="manual", key=kwargs["idempotency_key"])

    monkeypatch.setattr(services, "till_card_record", unavailable)

    response = till.post(SELL, {"action": "pay_card", "key": key(page(till), "pay_card")}, **HX)

    assert response.status_code == 422
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert not Payment.objects.exists()
    html = response.content.decode()
    assert f"Order {order.reference} is placed, but its payment could not be recorded" in html
    assert "The payment provider is not answering: try again in a moment." in html
    assert "idempotency key" not in html
    # The seller finishes it in the payment panel, on the receipt.
    assert f'data-order="{order.reference}"' in html
    assert 'name="action" value="card"' in html
