"""A line shipped home from the till: the name typed in the address form is the
recipient's on the order, and on the receipt with the address."""

from __future__ import annotations

import pytest

from orders.models import Order
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


def test_the_recipients_name_is_on_the_order_and_the_receipt(till, shop, web_cart, scarf):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    for line in web_cart.lines.all():
        till.post(SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": "ship"}, **HX)
    till.post(SELL, ADDRESS, **HX)

    response = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.shipping_address["name"] == "Camille Martin"
    fragment = response.content.decode()
    ship_to = fragment[fragment.index('class="ship-to"') :].split("</div>")[0]
    assert "Shipped to" in ship_to
    assert "<address>Camille Martin<br>3 rue de la Paix<br>75002 Paris · FR</address>" in ship_to
