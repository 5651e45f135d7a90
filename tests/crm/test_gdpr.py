"""GDPR: the JSON export of everything kept, and erasure that keeps what accounting
must keep."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crm.selectors import customer_export
from crm.services.erasure import customer_erase
from customers.auth import access_token_authenticate, login_code_exchange, login_code_send
from customers.exceptions import CustomerErased
from customers.models import Address, Consent, Customer, CustomerNote, LoginCode
from customers.selectors import customer_consents
from customers.services.profile import address_add, consent_record, customer_note_add
from orders.models import Order, OrderLine
from unicommerce.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def camille(make_customer, shop):
    customer = make_customer(
        email="camille@example.com",
        phone="+33612345678",
        first_name="Camille",
        last_name="Durand",
        tags=["vip"],
        source_channel=shop.web,
    )
    address_add(customer=customer, line1="1 rue de Rivoli", postal_code="75001", city="Paris")
    consent_record(customer=customer, kind="sms_marketing", granted=True, source="till")
    customer_note_add(customer=customer, body="Likes blue.")
    return customer


def test_the_export_is_json_with_profile_addresses_consents_notes_and_orders(
    camille, make_order, make_return, make_cart, shop
):
    order = make_order(camille, "80.00", shipping_address={"city": "Paris"})
    make_return(order, "20.00")
    make_cart(camille)

    data = json.loads(json.dumps(customer_export(camille)))  # JSON-able as it is

    assert data["format"] == "unicommerce.customer_export.v1"
    assert data["profile"]["email"] == "camille@example.com"
    assert data["profile"]["phone"] == "+33612345678"
    assert data["profile"]["tags"] == ["vip"]
    assert data["profile"]["first_seen_on"] == "web"
    assert [a["line1"] for a in data["addresses"]] == ["1 rue de Rivoli"]
    assert data["addresses"][0]["is_default"] is True
    assert [(c["kind"], c["granted"], c["source"]) for c in data["consents"]] == [
        ("sms_marketing", True, "till")
    ]
    assert [n["body"] for n in data["notes"]] == ["Likes blue."]
    [exported] = data["orders"]
    assert exported["reference"] == order.reference
    assert exported["total_amount"] == "80.00"
    assert exported["channel"] == "web"
    assert exported["shipping_address"] == {"city": "Paris"}
    assert [line["quantity"] for line in exported["lines"]] == [1]
    assert [r["amount"] for r in exported["returns"]] == ["20.00"]
    assert len(data["carts"]) == 1
    assert "token" not in data["carts"][0]


def test_erase_anonymises_and_keeps_orders_amounts_and_lines(
    camille, make_order, shop, django_user_model
):
    order = make_order(camille, "80.00", shipping_address={"line1": "1 rue de Rivoli"})
    sent = login_code_send(channel=shop.web, phone="0612345678")
    _token, raw = login_code_exchange(channel=shop.web, phone="0612345678", code=sent.code)
    Message.objects.create(
        channel="sms", to="+33612345678", body="Promo!", kind="marketing", customer_id=camille.pk
    )
    user = django_user_model.objects.create_user("dpo")

    customer_erase(customer=camille, user=user)

    camille.refresh_from_db()
    order.refresh_from_db()
    assert (camille.first_name, camille.last_name, camille.email, camille.phone) == (
        "",
        "",
        None,
        None,
    )
    assert camille.tags == []
    assert camille.erased_at is not None
    assert not Address.objects.filter(customer=camille).exists()
    assert not CustomerNote.objects.filter(customer=camille).exists()
    assert not LoginCode.objects.filter(customer=camille).exists()
    assert access_token_authenticate(raw_token=raw) is None
    # Orders keep amounts and lines, lose the contact snapshot.
    assert (order.customer, order.total_amount) == (camille, Decimal("80.00"))
    assert OrderLine.objects.filter(order=order).count() == 1
    assert (order.email, order.phone, order.shipping_address) == ("", "", None)
    # Consents: the anonymous history stays, and nothing is allowed any more.
    assert Consent.objects.filter(customer=camille, source="till", granted=True).exists()
    assert {k: c.granted for k, c in customer_consents(camille).items()} == {
        "sms_marketing": False,
        "email_marketing": False,
    }
    # Messages lose recipient and text; the queued one is not sent.
    assert set(Message.objects.filter(customer_id=camille.pk).values_list("to", "body")) == {
        ("", "")
    }
    assert not Message.objects.filter(customer_id=camille.pk, status="queued").exists()
    assert str(camille) == f"#{camille.pk}"


def test_the_export_of_an_erased_customer_holds_no_personal_data(camille, make_order):
    make_order(camille, "15.00")
    customer_erase(customer=camille)
    camille.refresh_from_db()

    text = json.dumps(customer_export(camille))

    for personal in ("Camille", "Durand", "camille@example.com", "+33612345678", "Rivoli"):
        assert personal not in text
    assert '"total_amount": "15.00"' in text


def test_erasing_twice_is_refused_and_orders_of_others_are_untouched(
    camille, make_customer, make_order
):
    other = make_customer(email="other@example.com")
    kept = make_order(other, "10.00")
    customer_erase(customer=camille)

    with pytest.raises(CustomerErased) as error:
        customer_erase(customer=Customer.objects.get(pk=camille.pk))

    assert error.value.code == "customer_erased"
    kept.refresh_from_db()
    assert kept.email == "other@example.com"
    assert Order.objects.get(pk=kept.pk).customer == other


def test_the_export_has_customers_part_then_every_apps_section(camille, make_order):
    make_order(camille, "10.00")

    data = customer_export(camille)

    assert list(data) == [
        "format",
        "exported_at",
        "profile",
        "addresses",
        "consents",
        "notes",
        "orders",
        "carts",
    ]
    assert len(data["orders"]) == 1
