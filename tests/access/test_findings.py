"""Issue 11's findings, each as the attack that worked against `make run` before, and
what answers it now (items 1–4 and 6; the others have their own tests: rate limits in
test_abuse.py, privacy in tests/privacy, webhooks in tests/webhooks, input in
tests/api/test_robust_input.py, the dev stack in tests/project)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from customers.models import LoginCode
from inventory.models import Reservation, StockLevel
from orders.models import Cart, Order, Return
from payments.models import Payment, PaymentOperation
from tests.factories import CustomerFactory
from unicommerce.messaging.models import Message

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}


def code_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def cart_with(api, variant, quantity: int = 1) -> str:
    token = api.post("/api/v1/carts/", {}, format="json").json()["token"]
    response = api.post(
        f"/api/v1/carts/{token}/lines/", {"sku": variant.sku, "quantity": quantity}, format="json"
    )
    assert response.status_code == 201, response.json()
    return token


# --- 1. account takeover through identify -------------------------------------------------


def test_identify_with_a_victims_phone_writes_nothing_on_them_and_gives_no_sign_in(
    world, stocked_variant
):
    """The attack: a storefront key identifies a cart with the victim's phone and the
    attacker's e-mail; the e-mail lands on the victim's record, the attacker's cart
    merges into the victim's and the answer hands back the victim's cart token; a
    sign-in code then goes to the attacker's e-mail and opens the victim's account."""
    victim = CustomerFactory(phone="+33611112222", email=None, first_name="Vic")
    variant = stocked_variant(warehouse=5)
    victims_cart = Cart.objects.create(channel=world.shop.web, customer=victim)
    attacker = world.callers["storefront"].api
    token = cart_with(attacker, variant)

    response = attacker.post(
        f"/api/v1/carts/{token}/identify/",
        {"phone": "06 11 11 22 22", "email": "attacker@example.com", "first_name": "Eve"},
        format="json",
    )
    code = attacker.post("/api/v1/auth/code/", {"email": "attacker@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["token"] == token  # not the victim's cart
    victim.refresh_from_db()
    assert (victim.email, victim.first_name) == (None, "Vic")
    victims_cart.refresh_from_db()
    assert (victims_cart.status, victims_cart.lines.count()) == ("open", 0)
    assert code.status_code == 202  # the same answer as for anyone
    assert not LoginCode.objects.filter(customer=victim).exists()


def test_a_new_email_or_phone_on_me_needs_the_code_sent_to_it(world):
    from customers.auth import contact_change_request

    customer = world.customer
    me = world.callers["customer"].api

    direct = me.patch("/api/v1/me/", {"email": "thief@example.com"}, format="json")
    asked = me.post("/api/v1/me/contact-change/", {"phone": "07 81 23 45 01"}, format="json")
    wrong = me.post("/api/v1/me/contact-change/confirm/", {"code": "000000"}, format="json")
    customer.refresh_from_db()
    assert code_of(direct) == (400, "contact_change_needs_code")
    assert asked.status_code == 202
    assert wrong.status_code == 400
    assert (customer.email, customer.phone) == ("camille@example.com", "+33612345678")
    # The code went to the new number only (its text is dropped once sent).
    sent_to = Message.objects.filter(kind="customer_contact_change").values_list("to", flat=True)
    assert list(sent_to) == ["+33781234501"]

    sent = contact_change_request(
        customer=customer, channel=world.shop.web, phone="07 81 23 45 02"
    )  # asking again replaces the pending change
    right = me.post("/api/v1/me/contact-change/confirm/", {"code": sent.code}, format="json")

    assert (right.status_code, right.json()["phone"]) == (200, "+33781234502")
    again = me.post("/api/v1/me/contact-change/confirm/", {"code": sent.code}, format="json")
    assert code_of(again) == (400, "login_code_invalid")


# --- 2. a channel key marking an order paid, refunding it to store credit -----------------


@pytest.fixture
def web_order(world) -> Order:
    return Order.objects.create(
        channel=world.shop.web,
        customer=world.customer,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=Decimal("50.00"),
    )


@pytest.mark.parametrize("caller", ["storefront", "integration", "customer"])
@pytest.mark.parametrize("method", ["cash", "card_terminal"])
def test_no_key_or_customer_records_an_in_person_payment(world, web_order, caller, method):
    if caller == "customer":
        web_order.customer = world.customer
        web_order.save()
    response = world.callers[caller].api.post(
        f"/api/v1/orders/{web_order.reference}/payments/",
        {"method": method, "amount": "50.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert code_of(response) == (403, "in_person_only")
    web_order.refresh_from_db()
    assert web_order.payment_status == "unpaid"
    assert not Payment.objects.exists()


def test_a_channel_key_refunds_only_to_the_original_payment(world, web_order):
    back_end = world.callers["integration"].api
    paid = back_end.post(
        f"/api/v1/orders/{web_order.reference}/payments/",
        {"method": "card_online", "amount": "50.00", "token": "sim_ok"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay",
    ).json()
    url = f"/api/v1/payments/{paid['id']}/refunds/"

    refused = [
        back_end.post(url, {"amount": "10", "method": method}, HTTP_IDEMPOTENCY_KEY=method)
        for method in ("store_credit", "cash", "card_terminal")
    ]
    to_card = back_end.post(url, {"amount": "10"}, HTTP_IDEMPOTENCY_KEY="card")

    assert [code_of(r) for r in refused] == [(403, "in_person_only")] * 3
    assert to_card.status_code == 201
    refunds = PaymentOperation.objects.filter(kind="refund", status="succeeded")
    assert [r.amount for r in refunds] == [Decimal("10.00")]


# --- 3. any key or customer selling a store's stock ----------------------------------------


@pytest.mark.parametrize("caller", ["storefront", "integration", "customer"])
def test_no_key_or_customer_takes_stock_off_a_stores_shelf(world, stocked_variant, caller):
    """Before: ``till_location`` (and taken-now lines) from any caller sold the store's
    units — even from a store that does not feed the caller's channel — and left an
    unpaid "fulfilled" order."""
    variant = stocked_variant(store=2, warehouse=5)
    lyon_stock = StockLevel.objects.create(variant=variant, location=world.lyon, on_hand=0)
    api = world.callers[caller].api
    token = cart_with(api, variant)

    for till in ("paris", "lyon"):
        response = api.post(
            f"/api/v1/carts/{token}/checkout/",
            {"payment_method": "pay_later", "till_location": till, "shipping_address": ADDRESS},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"till-{till}",
        )
        assert code_of(response) == (403, "in_person_only"), till
    cash = api.post(
        f"/api/v1/carts/{token}/checkout/",
        {"payment_method": "cash", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY="cash",
    )

    assert cash.status_code in (400, 403)  # not a method of the web channel, or in person
    assert not Order.objects.exists()
    assert StockLevel.objects.get(variant=variant, location=world.shop.store).on_hand == 2
    lyon_stock.refresh_from_db()
    assert lyon_stock.on_hand == 0
    assert Cart.objects.get(token=token).status == "open"


def test_a_seller_sells_from_their_own_shelves_only(world, stocked_variant):
    variant = stocked_variant(store=2)
    seller = world.callers["seller"].api  # works in Paris
    cart = Cart.objects.create(channel=world.shop.store_channel)
    cart.lines.create(variant=variant, quantity=1)
    token = cart.token

    elsewhere = seller.post(
        f"/api/v1/carts/{token}/checkout/",
        {"payment_method": "pay_in_store", "till_location": "lyon"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="lyon",
    )
    here = seller.post(
        f"/api/v1/carts/{token}/checkout/",
        {"payment_method": "pay_in_store", "till_location": "paris"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="paris",
    )

    assert code_of(elsewhere) == (403, "in_person_only")
    assert here.status_code == 201, here.json()
    # Off the Paris shelf for this order: held for it until it is paid (goods never
    # leave unpaid), then handed over.
    level = StockLevel.objects.get(variant=variant, location=world.shop.store)
    assert (level.on_hand, level.reserved) == (2, 1)


# --- 4. sellers scoped to their store -------------------------------------------------------


@pytest.fixture
def lyon_order(world, stocked_variant) -> Order:
    """An order sold at the Lyon store's till, to be collected there."""
    from orders.services.checkout import order_checkout
    from orders.services.checkout_plan import LineChoice

    variant = stocked_variant()
    from inventory.services.stock import stock_receive

    stock_receive(variant_id=variant.pk, location_id=world.lyon.pk, quantity=3)
    cart = Cart.objects.create(channel=world.lyon_register.channel, customer=world.customer)
    cart.lines.create(variant=variant, quantity=1)
    return order_checkout(
        cart=cart,
        channel=world.lyon_register.channel,
        payment_method="pay_in_store",
        default_choice=LineChoice("collect", world.lyon),
        contact_email="camille@example.com",
    )


def test_a_paris_seller_neither_lists_nor_touches_a_lyon_order(world, lyon_order, client):
    seller = world.callers["seller"]
    api = seller.api
    shipment = lyon_order.shipments.get()
    line = lyon_order.lines.get()

    listed = api.get("/api/v1/staff/orders/", {"status": "all"}).json()["results"]
    detail = api.get(f"/api/v1/staff/orders/{lyon_order.pk}/")
    cancel = api.post(f"/api/v1/staff/orders/{lyon_order.pk}/cancel/", {}, format="json")
    pick = api.post(f"/api/v1/staff/shipments/{shipment.pk}/pick/", {}, format="json")
    order_api = api.get(f"/api/v1/orders/{lyon_order.reference}/")
    payments = api.get(f"/api/v1/orders/{lyon_order.reference}/payments/")
    returned_elsewhere = api.post(
        "/api/v1/staff/returns/",
        {
            "order": lyon_order.pk,
            "channel": "store-lyon",
            "receiving_location": "lyon",
            "outcome": "refund",
            "lines": [{"order_line": line.pk, "quantity": 1, "reason": "wrong_size"}],
        },
        format="json",
    )
    till = seller.web()
    panel = till.get(f"/pos/orders/{lyon_order.reference}/payment/")
    terminal = till.post(
        f"/pos/orders/{lyon_order.reference}/payment/",
        {"action": "card", "card_amount": "10", "terminal_reference": "T1"},
    )

    assert lyon_order.reference not in [o["reference"] for o in listed]
    assert detail.status_code == 404
    assert cancel.status_code == 404
    assert pick.status_code == 404
    assert order_api.status_code == 404
    assert payments.status_code == 404
    assert code_of(returned_elsewhere) == (403, "location_not_yours")
    assert (panel.status_code, terminal.status_code) == (404, 404)
    lyon_order.refresh_from_db()
    assert (lyon_order.status, lyon_order.payment_status) == ("placed", "unpaid")
    assert not Return.objects.exists()
    assert not Payment.objects.exists()


def test_head_office_and_the_lyon_staff_see_it(world, lyon_order):
    from tests.access.conftest import bearer
    from tests.factories import UserFactory
    from unicommerce.channels.services import api_key_create

    lyon_seller = UserFactory(role="seller")
    world.lyon.staff.add(lyon_seller)
    _, raw = api_key_create(user=lyon_seller, name="lyon till")

    for api in (world.callers["head_office"].api, bearer(raw)):
        listed = api.get("/api/v1/staff/orders/", {"status": "all"}).json()["results"]
        assert lyon_order.reference in [o["reference"] for o in listed]


def test_the_admin_lists_a_store_managers_own_orders_only(world, lyon_order, client):
    from django.urls import reverse

    manager = world.callers["store_manager"].user
    client.force_login(manager)

    listing = client.get(reverse("admin:orders_order_changelist"))
    page = client.get(reverse("admin:orders_order_change", args=[lyon_order.pk]))

    assert listing.status_code == 200
    assert lyon_order.reference not in listing.content.decode()
    assert page.status_code == 302  # "does not exist", back to the list
    client.force_login(world.callers["head_office"].user)
    assert lyon_order.reference in client.get(reverse("admin:orders_order_changelist")).text


# --- 6. stock hoarding through the reservations API -----------------------------------------


def test_a_storefront_key_holds_stock_briefly_and_in_small_quantities(world, stocked_variant):
    variant = stocked_variant(warehouse=50)
    api = world.callers["storefront"].api

    def reserve(**extra):
        body = {"sku": variant.sku, "location": "warehouse", "quantity": 1, **extra}
        return api.post("/api/v1/reservations/", body, format="json")

    forever = reserve()
    a_week = reserve(expires_in=7 * 24 * 3600)
    a_pallet = reserve(expires_in=600, quantity=40)
    fine = reserve(expires_in=600, quantity=2)
    sold = api.post(f"/api/v1/reservations/{fine.json()['id']}/convert/")

    for refused in (forever, a_week, a_pallet):
        assert code_of(refused) == (400, "reservation_out_of_bounds")
    assert fine.status_code == 201
    assert code_of(sold) == (403, "permission_denied")  # selling is for the back end
    assert Reservation.objects.filter(status="active").count() == 1


def test_the_customer_360_page_lists_a_store_managers_own_orders_only(world, lyon_order, client):
    from django.urls import reverse

    page = reverse("admin:customers_customer_change", args=[world.customer.pk])
    client.force_login(world.callers["store_manager"].user)
    mine = client.get(page)
    client.force_login(world.callers["head_office"].user)
    everything = client.get(page)

    assert mine.status_code == everything.status_code == 200
    assert lyon_order.reference not in mine.content.decode()
    assert lyon_order.reference in everything.content.decode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "contact_change_one"),
        ({"email": "a@example.com", "phone": "0781234501"}, "contact_change_one"),
        ({"email": "not-an-email"}, "invalid_email"),
        ({"phone": "06 12"}, "invalid_phone"),
        ({"phone": "+447911123456"}, "sms_destination_not_allowed"),
        ({"email": "CAMILLE@example.com"}, "contact_unchanged"),
    ],
)
def test_a_contact_change_with_bad_input_is_refused_and_sends_nothing(world, body, expected):
    response = world.callers["customer"].api.post("/api/v1/me/contact-change/", body, format="json")

    assert code_of(response) == (400, expected)
    assert not LoginCode.objects.exists()
    assert not Message.objects.exists()


def test_a_contact_change_is_limited_per_customer(world):
    me = world.callers["customer"].api
    answers = [
        me.post("/api/v1/me/contact-change/", {"email": f"new{i}@example.com"}, format="json")
        for i in range(6)
    ]

    assert [a.status_code for a in answers] == [202] * 5 + [429]  # 5 an hour


def test_the_payments_and_stock_admins_list_a_store_managers_own_only(
    world, lyon_order, stocked_variant, client
):
    from django.urls import reverse

    from inventory.services.stock import stock_receive

    Payment.objects.create(
        order=lyon_order, method="cash", status="captured", amount=1, currency="EUR"
    )
    variant = stocked_variant(sku="ONLY-IN-LYON")
    stock_receive(variant_id=variant.pk, location_id=world.lyon.pk, quantity=4)
    manager = world.callers["store_manager"].user
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_payment", "view_stocklevel"])
    )
    client.force_login(manager)

    payments = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    levels = client.get(reverse("admin:inventory_stocklevel_changelist")).content.decode()

    assert lyon_order.reference not in payments
    assert "ONLY-IN-LYON" not in levels
    client.force_login(world.callers["head_office"].user)
    assert lyon_order.reference in client.get(reverse("admin:payments_payment_changelist")).text
    assert "ONLY-IN-LYON" in client.get(reverse("admin:inventory_stocklevel_changelist")).text
