"""Abuse, as an attacker's loop would run it: SMS pumping, guessing sign-in codes, trying
passwords, filling the database with carts. Each loop is stopped by 429 with
Retry-After in the API's error shape (an inline message in the POS and the admin), and
the SMS backend never records more than the limits allow."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.urls import reverse

from customers.auth import login_code_send
from customers.models import LoginCode
from orders.models import Cart, Order
from tests.factories import CustomerFactory, UserFactory
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import REDACTED
from unicommerce.messaging.tasks import message_send_task

pytestmark = pytest.mark.django_db


def limited(response) -> bool:
    if response.status_code != 429:
        return False
    body = response.json()["error"]
    assert body["code"] == "rate_limited"
    assert int(response["Retry-After"]) == body["details"]["retry_after"] > 0
    return True


def until_limited(send, *, tries: int = 200) -> tuple[int, object]:
    """Call ``send(i)`` until it answers 429; (how many got through, the 429)."""
    for index in range(tries):
        response = send(index)
        if limited(response):
            return index, response
    raise AssertionError(f"never limited after {tries} tries")


def deliver_all() -> None:
    backends.locmem_reset()
    for message_id in Message.objects.values_list("pk", flat=True):
        message_send_task(message_id)


# --- SMS pumping -------------------------------------------------------------------------


@pytest.fixture
def unpaid_order(world) -> Order:
    return Order.objects.create(
        channel=world.shop.web, status="placed", currency="EUR", total_amount="30.00"
    )


def test_resending_a_payment_link_to_a_new_number_each_time_is_stopped(world, unpaid_order):
    """Before: every resend took a new phone and sent an SMS, without end."""
    api = world.callers["integration"].api
    link = api.post(
        "/api/v1/payment-links/",
        {"order": unpaid_order.reference, "phone": "+33611000000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create",
    ).json()

    def resend(index: int):
        return api.post(
            f"/api/v1/payment-links/{link['id']}/resend/",
            {"phone": f"+336110{index:05d}"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"resend-{index}",
        )

    through, _ = until_limited(resend)
    deliver_all()

    assert through == 5  # payment_link_send_per_link: 5 a day
    assert Message.objects.filter(kind__startswith="payment_link").count() == 1 + through
    assert len(backends.outbox) == 1 + through


def test_one_caller_cannot_send_more_than_its_hourly_links(world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "payment_link_send_per_caller": "3/hour"}
    api = world.callers["integration"].api
    orders = [
        Order.objects.create(
            channel=world.shop.web, status="placed", currency="EUR", total_amount=9
        )
        for _ in range(5)
    ]

    def create(index: int):
        return api.post(
            "/api/v1/payment-links/",
            {"order": orders[index].reference, "phone": f"+3361200000{index}"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"create-{index}",
        )

    through, _ = until_limited(create)

    assert through == 3
    assert Message.objects.count() == 3


def test_an_sms_to_a_number_abroad_is_refused_where_the_link_is_made(world, unpaid_order):
    response = world.callers["integration"].api.post(
        "/api/v1/payment-links/",
        {"order": unpaid_order.reference, "phone": "+447911123456"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="uk",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "sms_destination_not_allowed"
    assert not Message.objects.exists()


def test_a_seller_sending_links_in_a_loop_reads_the_limit_inline(world, unpaid_order, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "payment_link_send_per_caller": "2/hour"}
    unpaid_order.channel = world.shop.store_channel
    unpaid_order.save()
    till = world.callers["seller"].web()
    url = reverse("pos:payment", args=[unpaid_order.reference])

    answers = [
        till.post(
            url,
            {"action": "link", "phone": "06 12 34 56 78", "link_amount": "1", "key": uuid4().hex},
            HTTP_HX_REQUEST="true",
        )
        for i in range(3)
    ]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[2].status_code == 429
    assert "Too many attempts" in answers[2].content.decode()
    assert Message.objects.count() == 2


# --- sign-in codes ----------------------------------------------------------------------


def test_guessing_a_sign_in_code_is_stopped_before_it_could_succeed(world):
    """Before: five tries per code and a new code a minute: ~7,000 guesses a day."""
    customer = world.customer
    api = world.callers["storefront"].api
    sent = login_code_send(channel=world.shop.web, phone=customer.phone)
    tokens_before = customer.access_tokens.count()

    def guess(index: int):
        wrong = f"{(int(sent.code) + 1 + index) % 1_000_000:06d}"
        return api.post(
            "/api/v1/auth/token/", {"phone": customer.phone, "code": wrong}, format="json"
        )

    through, _ = until_limited(guess)
    right = api.post(
        "/api/v1/auth/token/", {"phone": customer.phone, "code": sent.code}, format="json"
    )

    assert through == 10  # login_code_attempt_per_contact: 10 an hour
    assert limited(right)  # even the right code waits: guessing bought nothing
    assert customer.access_tokens.count() == tokens_before


def test_guesses_spread_over_many_numbers_are_stopped_by_address(world):
    api = world.callers["storefront"].api

    def guess(index: int):
        return api.post(
            "/api/v1/auth/token/",
            {"phone": f"+3361300{index:04d}", "code": "123456"},
            format="json",
        )

    through, _ = until_limited(guess)

    assert through == 30  # login_code_attempt_per_ip: 30 an hour


def test_asking_codes_for_any_number_is_stopped_and_sends_within_the_limits(world):
    customers = [CustomerFactory(phone=f"+3361400{i:04d}", email=None) for i in range(25)]
    api = world.callers["storefront"].api

    def ask(index: int):
        return api.post("/api/v1/auth/code/", {"phone": customers[index % 25].phone}, format="json")

    through, _ = until_limited(ask)
    deliver_all()

    assert through == 20  # login_code_request_per_ip: 20 an hour
    assert LoginCode.objects.count() == 20
    assert len(backends.outbox) == 20
    assert {m.body for m in Message.objects.all()} == {REDACTED}  # no code kept


def test_asking_codes_for_one_person_is_limited_whoever_asks(world):
    customer = world.customer
    api = world.callers["integration"].api  # a back end: not limited by its address

    def ask(index: int):
        return api.post("/api/v1/auth/code/", {"phone": customer.phone}, format="json")

    through, _ = until_limited(ask)
    unknown = api.post("/api/v1/auth/code/", {"phone": "+33615000000"}, format="json")

    assert through == 5  # login_code_request_per_contact: 5 an hour
    assert unknown.status_code == 202  # another contact is not affected


def test_a_code_to_a_number_abroad_is_refused_whether_or_not_someone_has_it(world):
    CustomerFactory(phone="+447911123456")
    api = world.callers["storefront"].api

    known = api.post("/api/v1/auth/code/", {"phone": "+447911123456"}, format="json")
    unknown = api.post("/api/v1/auth/code/", {"phone": "+447911123457"}, format="json")

    assert known.status_code == unknown.status_code == 400
    assert known.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert known.json()["error"]["code"] == "sms_destination_not_allowed"
    assert not Message.objects.exists()


# --- carts and identify -----------------------------------------------------------------


def test_a_browser_key_filling_the_database_with_carts_is_stopped(world):
    api = world.callers["storefront"].api

    through, _ = until_limited(lambda i: api.post("/api/v1/carts/", {}, format="json"))

    assert through == 60  # cart_create_per_ip: 60 a minute
    assert Cart.objects.count() == 60


def test_a_back_end_behind_one_address_is_not_limited_by_it(world):
    api = world.callers["integration"].api

    answers = [api.post("/api/v1/carts/", {}, format="json").status_code for _ in range(70)]

    assert set(answers) == {201}


def test_identify_is_limited_per_address(world):
    api = world.callers["storefront"].api
    token = api.post("/api/v1/carts/", {}, format="json").json()["token"]

    def identify(index: int):
        return api.post(
            f"/api/v1/carts/{token}/identify/", {"phone": "+33612345678"}, format="json"
        )

    through, _ = until_limited(identify)

    assert through == 30  # cart_identify_per_ip: 30 a minute


def test_clients_behind_a_trusted_proxy_are_counted_apart(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart_create_per_ip": "2/minute"}
    api = world.callers["storefront"].api

    def create(address: str, spoofed: str = ""):
        forwarded = f"{spoofed}, {address}" if spoofed else address
        return api.post("/api/v1/carts/", {}, format="json", HTTP_X_FORWARDED_FOR=forwarded)

    first = [create("198.51.100.1").status_code for _ in range(3)]
    other = create("198.51.100.2").status_code
    spoofing = create("198.51.100.1", spoofed="203.0.113.9").status_code

    assert first == [201, 201, 429]
    assert other == 201
    assert spoofing == 429  # what a client writes to the left is not trusted


# --- passwords: the admin and the POS -----------------------------------------------------


@pytest.mark.parametrize(
    ("login_url", "page_marker"),
    [("/pos/login/", "Log in to the till"), ("/admin/login/", "Django administration")],
)
def test_trying_passwords_locks_the_username_from_that_address_with_a_message(
    client, db, login_url, page_marker
):
    user = UserFactory(username="target", is_staff=True, permissions=["pos.sell"])

    answers = [
        client.post(login_url, {"username": "target", "password": f"guess-{i}"}) for i in range(5)
    ]
    locked = client.post(login_url, {"username": "target", "password": "secret-pass"})
    signed_in_while_locked = "_auth_user_id" in client.session
    other_address = client.post(
        login_url,
        {"username": "target", "password": "secret-pass"},
        REMOTE_ADDR="198.51.100.7",
    )

    # AXES_FAILURE_LIMIT = 5: four times the form again, the fifth failure locks.
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert locked.status_code == 429  # even with the right password
    assert "Too many failed log-ins" in locked.content.decode()
    assert page_marker in locked.content.decode() or login_url == "/admin/login/"
    assert int(locked["Retry-After"]) > 0
    assert not signed_in_while_locked
    assert other_address.status_code == 302  # another place is not locked out
    assert user.pk
