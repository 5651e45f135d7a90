"""The till's quantity action: whatever reaches it (the +/−/× buttons send a number; a
tampered or replayed form may send anything), the seller reads a message inline and the
cart is unchanged, never a server error."""

from __future__ import annotations

import pytest

from orders.models import Cart, CartLine
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(till, tee) -> CartLine:
    till.post(SELL, {"action": "scan", "code": tee.sku}, **HX)
    return Cart.objects.get(token=till.session["pos_cart_token"]).lines.get()


@pytest.mark.parametrize(
    "quantity", [str(10**12), "99999999999", "10000", str(2**63), "99999999999999999999"]
)
def test_a_quantity_too_large_is_refused_inline_and_the_line_is_unchanged(till, line, quantity):
    response = till.post(SELL, {"action": "quantity", "line": line.pk, "quantity": quantity}, **HX)

    assert response.status_code == 422
    assert "At most 9999 of an item on one line." in response.content.decode()
    assert list(CartLine.objects.values_list("pk", "quantity")) == [(line.pk, 1)]


@pytest.mark.parametrize("quantity", ["-1", "²", "1.5", "", "9" * 5000])
def test_a_quantity_that_is_not_a_whole_number_is_refused_inline(till, line, quantity):
    response = till.post(SELL, {"action": "quantity", "line": line.pk, "quantity": quantity}, **HX)

    assert response.status_code == 422
    assert "Quantity must be a whole number from 0 to 9999." in response.content.decode()
    assert list(CartLine.objects.values_list("pk", "quantity")) == [(line.pk, 1)]


@pytest.mark.parametrize("line_id", ["x", "²", "99999999999999999999", ""])
def test_a_line_that_is_not_an_id_is_refused_inline(till, line, line_id):
    response = till.post(SELL, {"action": "quantity", "line": line_id, "quantity": "2"}, **HX)

    assert response.status_code == 422
    assert "Choose a line of the cart." in response.content.decode()
    assert list(CartLine.objects.values_list("pk", "quantity")) == [(line.pk, 1)]


def test_the_largest_quantity_is_taken(till, line):
    response = till.post(SELL, {"action": "quantity", "line": line.pk, "quantity": "9999"}, **HX)

    assert response.status_code == 200
    assert CartLine.objects.get(pk=line.pk).quantity == 9999


def test_without_htmx_the_refusal_is_a_message_on_the_page(till, line):
    response = till.post(
        SELL, {"action": "quantity", "line": line.pk, "quantity": "99999999999"}, follow=True
    )

    assert response.status_code == 200
    assert "At most 9999 of an item on one line." in response.content.decode()
    assert CartLine.objects.get(pk=line.pk).quantity == 1
