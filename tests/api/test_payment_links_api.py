"""Payment links over the API: create (order or cart), read with the SMS status, resend,
cancel; permissions, idempotency, errors in the one shape, and the OpenAPI schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator

from orders.models import Cart, Order
from orders.services.carts import cart_create, cart_line_add
from payments.models import PaymentLink
from payments.services.links import payment_link_pay
from tests.api.conftest import client_with_key
from tests.factories import SalesChannelFactory
from unicommerce.channels.services import api_key_create
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_deliver

urlpatterns = [path("api/v1/", include("payments.api.links_urls"))]
pytestmark = pytest.mark.urls("tests.api.test_payment_links_api")

ADD = "payments.add_paymentlink"
ADDRESS = {
    "first_name": "Camille",
    "last_name": "Durand",
    "line1": "1 rue de Rivoli",
    "postal_code": "75001",
    "city": "Paris",
    "country": "fr",
}


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.fixture
def order(shop) -> Order:
    return Order.objects.create(
        channel=shop.web,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=Decimal("100.00"),
    )


@pytest.fixture
def seller(staff_api):
    return staff_api(ADD, "payments.view_paymentlink")


def test_staff_create_a_link_for_an_order_and_follow_its_sms(seller, order):
    response = seller.post(
        "/api/v1/payment-links/",
        {"order": order.reference, "phone": "06 12 34 56 78", "language": "en"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    link = PaymentLink.objects.get()
    assert body["id"] == link.pk
    assert (body["order"], body["amount"], body["currency"]) == (order.reference, "100.00", "EUR")
    assert (body["status"], body["sms_status"], body["phone"], body["sends"]) == (
        "created",
        "queued",
        "+33612345678",
        1,
    )
    assert body["payment"] is None
    assert "token" not in str(body).lower()
    assert link.created_by == seller.user

    message_deliver(message_id=link.message_id)
    detail = seller.get(f"/api/v1/payment-links/{link.pk}/").json()

    assert (detail["status"], detail["sms_status"]) == ("sent", "sent")
    assert detail["sent_at"] is not None


def _database_state(order) -> dict:
    from orders.models import OrderEvent
    from payments.models import Payment
    from unicommerce.events.models import OutboxEvent

    return {
        "links": list(PaymentLink.objects.order_by("pk").values()),
        "payments": list(Payment.objects.order_by("pk").values()),
        "timeline": OrderEvent.objects.filter(order=order).count(),
        "events": list(OutboxEvent.objects.order_by("created_at").values("id", "topic")),
    }


def test_reading_a_link_changes_nothing_in_the_database(seller, order):
    """A GET shows the link as it stands (its SMS sent, its time up) without writing:
    "sent" is recorded by the SMS's own path, "expired" by the beat."""
    link_id = seller.post(
        "/api/v1/payment-links/", {"order": order.reference, "phone": "+33612345678"}, format="json"
    ).json()["id"]
    link = PaymentLink.objects.get(pk=link_id)
    assert message_deliver(message_id=link.message_id) == "sent"
    before = _database_state(order)

    sent = seller.get(f"/api/v1/payment-links/{link_id}/")

    assert (sent.json()["status"], sent.json()["sms_status"]) == ("sent", "sent")
    assert _database_state(order) == before

    PaymentLink.objects.filter(pk=link_id).update(expires_at=link.created_at)
    before = _database_state(order)

    expired = seller.get(f"/api/v1/payment-links/{link_id}/")

    assert expired.json()["status"] == "expired"
    assert _database_state(order) == before
    assert PaymentLink.objects.get(pk=link_id).status == "created"


def test_the_same_idempotency_key_is_the_same_link(seller, order):
    body = {"order": order.reference, "phone": "+33612345678", "amount": "30.00"}

    first = seller.post("/api/v1/payment-links/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = seller.post("/api/v1/payment-links/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = seller.post(
        "/api/v1/payment-links/",
        {**body, "amount": "31.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert error_of(other) == (422, "idempotency_key_reused")
    assert PaymentLink.objects.count() == 1
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"phone": "12"}, (400, "invalid_phone")),
        ({"phone": "+33612345678", "amount": "100.01"}, (409, "payment_exceeds_due")),
        ({"phone": "+33612345678", "amount": "0"}, (400, "payment_amount_invalid")),
        ({"phone": "+33612345678", "language": "de"}, (400, "invalid")),
    ],
)
def test_bad_input_is_refused_and_nothing_is_sent(seller, order, body, expected):
    response = seller.post(
        "/api/v1/payment-links/", {"order": order.reference, **body}, format="json"
    )

    assert error_of(response) == expected
    assert not PaymentLink.objects.exists()
    assert not Message.objects.exists()


def test_order_or_cart_is_required_and_unknown_ones_are_404(seller, db):
    neither = seller.post("/api/v1/payment-links/", {"phone": "+33612345678"}, format="json")
    unknown_order = seller.post(
        "/api/v1/payment-links/", {"order": "UC99999999", "phone": "+33612345678"}, format="json"
    )
    unknown_cart = seller.post(
        "/api/v1/payment-links/", {"cart": "nope", "phone": "+33612345678"}, format="json"
    )

    assert error_of(neither) == (400, "invalid")
    assert error_of(unknown_order) == (404, "order_not_found")
    assert error_of(unknown_cart) == (404, "cart_not_found")


def test_a_channel_key_links_its_own_cart_and_sees_only_its_own_links(
    web_api, shop, stocked_variant, order
):
    variant = stocked_variant(warehouse=2, price_amount=Decimal("25.00"))
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=2)

    response = web_api.post(
        "/api/v1/payment-links/",
        {"cart": cart.token, "phone": "+33612345678", "shipping_address": ADDRESS},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKED_OUT
    assert body["order"] == cart.order.reference
    assert body["amount"] == "50.00"
    assert cart.order.payment_method == "payment_link"
    other_channel = SalesChannelFactory(code="market", name="Marketplace")
    _, raw_key = api_key_create(channel=other_channel, name="market")
    other = client_with_key(raw_key)
    assert error_of(other.get(f"/api/v1/payment-links/{body['id']}/")) == (
        404,
        "payment_link_not_found",
    )
    assert error_of(
        other.post("/api/v1/payment-links/", {"order": order.reference, "phone": "+33612345678"})
    ) == (404, "order_not_found")


def test_permissions(staff_api, order, client):
    body = {"order": order.reference, "phone": "+33612345678"}

    assert client.post("/api/v1/payment-links/", body).status_code in (401, 403)
    assert error_of(staff_api().post("/api/v1/payment-links/", body, format="json"))[0] == 403
    viewer = staff_api("payments.view_paymentlink")
    assert error_of(viewer.post("/api/v1/payment-links/", body, format="json"))[0] == 403
    link_id = staff_api(ADD).post("/api/v1/payment-links/", body, format="json").json()["id"]
    assert viewer.get(f"/api/v1/payment-links/{link_id}/").status_code == 200
    assert error_of(viewer.post(f"/api/v1/payment-links/{link_id}/cancel/"))[0] == 403


def test_resend_and_cancel(seller, order):
    created = seller.post(
        "/api/v1/payment-links/",
        {"order": order.reference, "phone": "+33612345678"},
        format="json",
    ).json()
    base = f"/api/v1/payment-links/{created['id']}"

    resent = seller.post(f"{base}/resend/", {"phone": "+33698765432"}, format="json")
    cancelled = seller.post(f"{base}/cancel/")
    cancelled_again = seller.post(f"{base}/cancel/")
    resend_cancelled = seller.post(f"{base}/resend/", {}, format="json")

    assert resent.status_code == 200
    assert (resent.json()["sends"], resent.json()["phone"]) == (2, "+33698765432")
    assert cancelled.status_code == cancelled_again.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert error_of(resend_cancelled) == (410, "payment_link_cancelled")
    assert Message.objects.count() == 2
    assert error_of(seller.get("/api/v1/payment-links/999999/")) == (
        404,
        "payment_link_not_found",
    )


def test_a_paid_link_cannot_be_cancelled_or_resent(seller, order):
    link_id = seller.post(
        "/api/v1/payment-links/",
        {"order": order.reference, "phone": "+33612345678"},
        format="json",
    ).json()["id"]
    link = PaymentLink.objects.get(pk=link_id)
    # the token is only in the SMS: the customer's side reads it from there
    body = Message.objects.get(pk=link.message_id).body
    token = body.rstrip("/").rsplit("/", 1)[1]
    payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page")

    detail = seller.get(f"/api/v1/payment-links/{link_id}/").json()

    assert detail["status"] == "paid"
    assert detail["order_payment_status"] == "paid"
    assert detail["payment"]["status"] == "captured"
    assert error_of(seller.post(f"/api/v1/payment-links/{link_id}/cancel/")) == (
        409,
        "payment_link_used",
    )
    assert error_of(seller.post(f"/api/v1/payment-links/{link_id}/resend/")) == (
        409,
        "payment_link_used",
    )


def test_the_schema_documents_every_operation_and_its_errors(db):
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)

    paths = schema["paths"]
    create = paths["/api/v1/payment-links/"]["post"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "404", "409", "422"}
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert set(paths["/api/v1/payment-links/{link_id}/"]["get"]["responses"]) >= {"200", "404"}
    assert set(paths["/api/v1/payment-links/{link_id}/resend/"]["post"]["responses"]) >= {
        "200",
        "409",
        "410",
    }
    assert set(paths["/api/v1/payment-links/{link_id}/cancel/"]["post"]["responses"]) >= {
        "200",
        "409",
    }
    error_ref = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/Error")
