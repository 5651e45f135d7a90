"""The customer account API: sign-in with a one-time code (sent through the messaging
backend, locmem in tests), then me, addresses and consents; errors in the one shape."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import AccessToken, Address, Consent, Customer, LoginCode
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_deliver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_outbox():
    backends.locmem_reset()
    yield
    backends.locmem_reset()


def _code_received(callbacks_message_id: int) -> tuple[str, backends.SentMessage]:
    """Send the queued message the way the worker does, and read the code the customer
    received from the locmem backend's outbox."""
    assert message_deliver(message_id=callbacks_message_id) == "sent"
    [received] = backends.outbox
    return re.search(r"\b(\d{6})\b", received.body).group(1), received


def _customer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def test_sign_in_by_sms_code_then_read_me_then_log_out(
    channel_api, make_customer, django_capture_on_commit_callbacks
):
    customer = make_customer(phone="+33612345678", email=None, first_name="Camille")

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        asked = channel_api.post("/api/v1/auth/code/", {"phone": "06 12 34 56 78"}, format="json")
    message = Message.objects.get()
    code, received = _code_received(message.pk)
    answer = channel_api.post(
        "/api/v1/auth/token/", {"phone": "+33 6 12 34 56 78", "code": code}, format="json"
    )
    token = answer.json()["token"]
    me = _customer_client(token).get("/api/v1/me/")
    logout = _customer_client(token).post("/api/v1/auth/logout/")
    after = _customer_client(token).get("/api/v1/me/")

    assert asked.status_code == 202
    assert len(enqueued) == 1  # the message is handed to the worker after commit only
    assert (received.channel, received.to, received.kind) == (
        "sms",
        "+33612345678",
        "customer_login_code",
    )
    assert message.customer_id == customer.pk
    login_code = LoginCode.objects.get()
    assert code not in login_code.code_hash  # only a hash is kept
    assert answer.status_code == 201
    assert answer.json()["customer"]["id"] == customer.pk
    stored = AccessToken.objects.get()
    assert token not in stored.key_hash
    assert stored.expires_at > timezone.now() + timedelta(days=29)
    assert me.status_code == 200
    assert me.json()["first_name"] == "Camille"
    assert logout.status_code == 204
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "authentication_failed"


def test_sign_in_by_email_code(channel_api, make_customer):
    make_customer(email="camille@example.com")

    channel_api.post("/api/v1/auth/code/", {"email": "Camille@Example.com"}, format="json")
    code, received = _code_received(Message.objects.get().pk)
    answer = channel_api.post(
        "/api/v1/auth/token/", {"email": "camille@example.com", "code": code}, format="json"
    )

    assert (received.channel, received.to) == ("email", "camille@example.com")
    assert received.subject
    assert answer.status_code == 201


def test_an_unknown_customer_gets_the_same_answer_and_nothing_is_created_or_sent(channel_api):
    asked = channel_api.post("/api/v1/auth/code/", {"email": "nobody@example.com"}, format="json")
    token = channel_api.post(
        "/api/v1/auth/token/", {"email": "nobody@example.com", "code": "123456"}, format="json"
    )

    assert asked.status_code == 202
    assert not Customer.objects.exists()
    assert not Message.objects.exists()
    assert token.status_code == 400
    assert token.json()["error"]["code"] == "login_code_invalid"


def test_five_wrong_codes_burn_the_code(channel_api, make_customer):
    make_customer(email="camille@example.com")
    channel_api.post("/api/v1/auth/code/", {"email": "camille@example.com"}, format="json")
    code, _ = _code_received(Message.objects.get().pk)
    wrong = "000000" if code != "000000" else "111111"

    answers = [
        channel_api.post(
            "/api/v1/auth/token/", {"email": "camille@example.com", "code": wrong}, format="json"
        ).status_code
        for _ in range(5)
    ]
    right_too_late = channel_api.post(
        "/api/v1/auth/token/", {"email": "camille@example.com", "code": code}, format="json"
    )

    assert answers == [400] * 5
    assert LoginCode.objects.get().attempts == 5
    assert right_too_late.status_code == 400
    assert not AccessToken.objects.exists()


def test_an_expired_or_used_code_is_refused(channel_api, make_customer):
    make_customer(email="camille@example.com")
    channel_api.post("/api/v1/auth/code/", {"email": "camille@example.com"}, format="json")
    code, _ = _code_received(Message.objects.get().pk)
    body = {"email": "camille@example.com", "code": code}

    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = channel_api.post("/api/v1/auth/token/", body, format="json")
    LoginCode.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    used = channel_api.post("/api/v1/auth/token/", body, format="json")
    again = channel_api.post("/api/v1/auth/token/", body, format="json")

    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "login_code_invalid"
    assert used.status_code == 201
    assert again.status_code == 400


def test_a_second_request_within_a_minute_sends_no_second_code(channel_api, make_customer):
    make_customer(email="camille@example.com")

    for _ in range(3):
        channel_api.post("/api/v1/auth/code/", {"email": "camille@example.com"}, format="json")

    assert Message.objects.count() == 1
    assert LoginCode.objects.count() == 1


def test_a_code_from_one_channel_does_not_sign_in_on_another(shop, channel_api, make_customer):
    from unicommerce.channels.services import api_key_create

    make_customer(email="camille@example.com")
    channel_api.post("/api/v1/auth/code/", {"email": "camille@example.com"}, format="json")
    code, _ = _code_received(Message.objects.get().pk)
    _, store_key = api_key_create(channel=shop.store_channel, name="store app")
    store_api = APIClient()
    store_api.credentials(HTTP_AUTHORIZATION=f"Bearer {store_key}")

    answer = store_api.post(
        "/api/v1/auth/token/", {"email": "camille@example.com", "code": code}, format="json"
    )

    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone": "06 12"}, "invalid_phone"),
        ({"email": "not-an-email"}, "invalid_email"),
        ({}, "invalid"),
        ({"email": "", "phone": ""}, "invalid"),
    ],
)
def test_malformed_identities_are_400_in_the_error_shape(channel_api, body, code):
    answer = channel_api.post("/api/v1/auth/code/", body, format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert not Message.objects.exists()


def test_sign_in_needs_a_channel_key_and_the_account_a_customer_token(
    shop, channel_api, make_customer, customer_api
):
    from tests.factories import UserFactory
    from unicommerce.channels.services import api_key_create

    token_client = customer_api(make_customer())
    _, staff_key = api_key_create(user=UserFactory(), name="script")
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_key}")

    anonymous = APIClient().post("/api/v1/auth/code/", {"email": "a@example.com"}, format="json")
    with_token = token_client.post("/api/v1/auth/code/", {"email": "a@example.com"}, format="json")
    with_staff_key = staff.post("/api/v1/auth/code/", {"email": "a@example.com"}, format="json")
    me_with_channel_key = channel_api.get("/api/v1/me/")
    me_with_bad_token = _customer_client("ucc_forged").get("/api/v1/me/")

    assert anonymous.status_code == 401
    assert with_token.status_code == 403  # signed in, but a customer asks no codes
    assert with_staff_key.status_code == 403
    assert me_with_channel_key.status_code == 403
    assert me_with_bad_token.status_code == 401
    assert me_with_bad_token.json()["error"]["code"] == "authentication_failed"


def test_an_erased_customers_token_stops_working(make_customer, customer_api):
    from crm.services.erasure import customer_erase

    customer = make_customer()
    client = customer_api(customer)
    customer_erase(customer=customer)

    assert client.get("/api/v1/me/").status_code == 401


def test_patch_me_changes_names_but_no_contact_without_a_code(make_customer, customer_api):
    customer = make_customer(email="camille@example.com", phone="+33612345678")
    make_customer(email="taken@example.com")
    client = customer_api(customer)

    changed = client.patch(
        "/api/v1/me/", {"first_name": "Cami", "phone": "06 12 34 56 78"}, format="json"
    )
    new_email = client.patch("/api/v1/me/", {"email": "TAKEN@example.com"}, format="json")
    new_phone = client.patch("/api/v1/me/", {"phone": "0699999999"}, format="json")
    bad_phone = client.patch("/api/v1/me/", {"phone": "0612"}, format="json")
    nothing_left = client.patch("/api/v1/me/", {"email": "", "phone": ""}, format="json")
    removed = client.patch("/api/v1/me/", {"phone": ""}, format="json")

    assert changed.status_code == 200  # the same phone, written another way
    assert changed.json()["phone"] == "+33612345678"
    for refused in (new_email, new_phone, bad_phone):
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "contact_change_needs_code"
    assert nothing_left.status_code == 400
    assert nothing_left.json()["error"]["code"] == "identity_required"
    assert (removed.status_code, removed.json()["phone"]) == (200, None)
    customer.refresh_from_db()
    assert (customer.first_name, customer.email, customer.phone) == (
        "Cami",
        "camille@example.com",
        None,
    )


def test_addresses_add_list_make_default_and_delete(make_customer, customer_api):
    customer = make_customer()
    client = customer_api(customer)
    home = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris"}
    work = {"line1": "5 quai A", "postal_code": "69002", "city": "Lyon", "phone": "0472000000"}

    first = client.post("/api/v1/me/addresses/", home, format="json")
    second = client.post("/api/v1/me/addresses/", work, format="json")
    made_default = client.patch(
        f"/api/v1/me/addresses/{second.json()['id']}/",
        {"is_default": True, "label": "Work"},
        format="json",
    )
    listed = client.get("/api/v1/me/addresses/")
    deleted = client.delete(f"/api/v1/me/addresses/{second.json()['id']}/")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["is_default"] is True
    assert second.json()["phone"] == "+33472000000"
    assert made_default.status_code == 200
    assert made_default.json()["label"] == "Work"
    assert [a["city"] for a in listed.json()] == ["Lyon", "Paris"]  # the default first
    assert [a["is_default"] for a in listed.json()] == [True, False]
    assert deleted.status_code == 204
    assert list(Address.objects.filter(customer=customer).values_list("city", "is_default")) == [
        ("Paris", True)
    ]


def test_addresses_of_someone_else_are_404_and_bad_ones_400(make_customer, customer_api):
    from customers.services.profile import address_add

    other = make_customer()
    theirs = address_add(customer=other, line1="1 rue A", postal_code="75001", city="Paris")
    client = customer_api(make_customer())

    patch = client.patch(f"/api/v1/me/addresses/{theirs.pk}/", {"city": "X"}, format="json")
    delete = client.delete(f"/api/v1/me/addresses/{theirs.pk}/")
    missing = client.post("/api/v1/me/addresses/", {"line1": "1 rue A"}, format="json")
    bad_phone = client.post(
        "/api/v1/me/addresses/",
        {"line1": "1 rue A", "postal_code": "75001", "city": "Paris", "phone": "12"},
        format="json",
    )
    bad_country = client.post(
        "/api/v1/me/addresses/",
        {"line1": "1 rue A", "postal_code": "75001", "city": "Paris", "country": "F1"},
        format="json",
    )

    assert (patch.status_code, delete.status_code) == (404, 404)
    assert patch.json()["error"]["code"] == "not_found"
    assert missing.status_code == 400
    assert set(missing.json()["error"]["details"]) == {"postal_code", "city"}
    assert bad_phone.json()["error"]["code"] == "invalid_phone"
    assert bad_country.json()["error"]["code"] == "invalid_address"
    theirs.refresh_from_db()
    assert theirs.city == "Paris"
    assert Address.objects.count() == 1


def test_consents_read_and_changed_keep_a_history(shop, make_customer, customer_api):
    customer = make_customer()
    client = customer_api(customer)

    before = client.get("/api/v1/me/consents/")
    granted = client.post(
        "/api/v1/me/consents/", {"kind": "sms_marketing", "granted": True}, format="json"
    )
    withdrawn = client.post(
        "/api/v1/me/consents/", {"kind": "sms_marketing", "granted": False}, format="json"
    )
    unknown = client.post(
        "/api/v1/me/consents/", {"kind": "pigeon", "granted": True}, format="json"
    )

    assert before.json() == [
        {"kind": "sms_marketing", "granted": None, "source": "", "channel": None, "at": None},
        {"kind": "email_marketing", "granted": None, "source": "", "channel": None, "at": None},
    ]
    assert granted.status_code == 201
    assert withdrawn.json()[0]["granted"] is False
    assert withdrawn.json()[0]["channel"] == "web"
    assert unknown.status_code == 400
    assert Consent.objects.filter(customer=customer).count() == 2


def test_the_schema_documents_the_account_api_with_its_errors(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert "customerToken" in schema["components"]["securitySchemes"]
    for path in ("/api/v1/auth/code/", "/api/v1/auth/token/", "/api/v1/me/"):
        assert path in schema["paths"]
    assert {"202", "400", "401", "403"} <= set(
        schema["paths"]["/api/v1/auth/code/"]["post"]["responses"]
    )
    assert "400" in schema["paths"]["/api/v1/me/"]["patch"]["responses"]
    confirm = schema["paths"]["/api/v1/me/contact-change/confirm/"]["post"]["responses"]
    assert {"200", "400", "409"} <= set(confirm)
    assert "429" in schema["paths"]["/api/v1/me/contact-change/"]["post"]["responses"]
    assert {"customerToken": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]
