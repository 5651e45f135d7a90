"""The ship-home recipient's name stays on the order's shipping address through checkout
(API and till), whichever form gave it: one ``name``, or first and last names."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.services.checkout_plan import shipping_address_clean
from tests.api.conftest import client_with_key
from unicommerce.channels.services import api_key_create

pytestmark = pytest.mark.django_db

WHERE = {"line1": "3 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "fr"}


def test_the_recipients_name_is_kept_and_one_is_made_from_first_and_last_names():
    named = shipping_address_clean({"name": "  Camille Martin ", **WHERE})
    split = shipping_address_clean({"first_name": "Camille", "last_name": "Martin", **WHERE})
    nameless = shipping_address_clean(WHERE)

    assert (named["name"], named["country"]) == ("Camille Martin", "FR")
    assert (split["name"], split["first_name"], split["last_name"]) == (
        "Camille Martin",
        "Camille",
        "Martin",
    )
    assert nameless["name"] == ""


def test_the_api_checkout_keeps_the_recipients_name(shop, stocked_variant):
    variant = stocked_variant(warehouse=5, price_amount="25.00")
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    api = client_with_key(raw_key)
    token = api.post("/api/v1/carts/", {}, format="json").json()["token"]
    api.post(f"/api/v1/carts/{token}/lines/", {"sku": variant.sku, "quantity": 1}, format="json")

    response = api.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "payment_method": "pay_later",
            "shipping_address": {"name": "Camille Martin", **WHERE},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["shipping_address"]["name"] == "Camille Martin"
    order = Order.objects.get()
    assert order.shipping_address["name"] == "Camille Martin"
    assert order.shipping_address["line1"] == "3 rue de la Paix"
