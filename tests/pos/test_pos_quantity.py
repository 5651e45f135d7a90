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


# --- ids and quantities in other digits, or beyond a bigint, elsewhere at the till ---------

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # isdigit() is True, int() reads them
HUGE = "99999999999999999999"


def arabic(number: int) -> str:
    return str(number).translate(ARABIC)


@pytest.mark.parametrize("shown", ["²", "arabic", HUGE])
def test_the_stock_panel_of_something_that_is_not_an_id_is_empty(till, tee, shown):
    variant_id = arabic(tee.pk) if shown == "arabic" else shown

    response = till.get(SELL, {"stock": variant_id}, **HX)

    assert response.status_code == 200
    assert tee.sku not in response.content.decode()


@pytest.mark.parametrize("ids", ["²", "1,²", "١٢", HUGE])
def test_a_live_poll_of_ids_that_are_not_ids_renders_instead_of_failing(till, tee, ids):
    for query in ({"lines": ids, "since": "x"}, {"stock": ids, "since": "x"}):
        assert till.get(SELL, query, **HX).status_code == 200


@pytest.fixture
def opened_web_cart(till, web_cart):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    return web_cart


@pytest.mark.parametrize("store", ["²", "arabic"])
def test_collect_at_a_store_named_in_other_digits_is_refused(till, lyon, opened_web_cart, store):
    line = opened_web_cart.lines.first()
    store_id = arabic(lyon.pk) if store == "arabic" else store

    response = till.post(
        SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": f"collect:{store_id}"}, **HX
    )

    assert response.status_code == 422
    assert "Choose the store the customer collects from." in response.content.decode()
    line.refresh_from_db()
    assert (line.fulfilment, line.location_id) == ("", None)


@pytest.mark.parametrize("line_id", ["²", "arabic", HUGE, " 1"])
def test_a_fulfilment_for_a_line_named_in_other_digits_is_refused(till, opened_web_cart, line_id):
    line = opened_web_cart.lines.first()
    line_id = arabic(line.pk) if line_id == "arabic" else line_id

    response = till.post(
        SELL, {"action": "fulfilment", "line": line_id, "fulfilment": "ship"}, **HX
    )

    assert response.status_code == 422
    assert "Choose a line of the cart." in response.content.decode()
    line.refresh_from_db()
    assert line.fulfilment == ""


@pytest.fixture
def order_to_pay(shop, camille, tee):
    from orders.services.carts import cart_create, cart_line_add
    from pos.services import sale_complete

    cart = cart_create(channel=shop.store_channel, customer=camille)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    return sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    ).order


@pytest.mark.parametrize("link", ["²", "arabic", HUGE])
@pytest.mark.parametrize("action", ["resend", "cancel"])
def test_a_payment_link_named_in_other_digits_is_refused_inline(
    settings, till, order_to_pay, link, action
):
    from payments.models import PaymentLink
    from payments.services.links import payment_link_create

    settings.PUBLIC_BASE_URL = "https://shop.example"
    real, _token = payment_link_create(order=order_to_pay, phone="0612345678", language="fr")
    link_id = arabic(real.pk) if link == "arabic" else link
    before = list(PaymentLink.objects.values_list("pk", "status", "sends"))

    response = till.post(
        f"/pos/orders/{order_to_pay.reference}/payment/",
        {"action": action, "link": link_id},
        **HX,
    )

    assert response.status_code == 422
    assert "Choose one of the order&#x27;s payment links." in response.content.decode()
    assert list(PaymentLink.objects.values_list("pk", "status", "sends")) == before


@pytest.fixture
def web_order(shop, camille, tee):
    from tests.pos.conftest import web_order_delivered

    return web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=2)


@pytest.mark.parametrize("quantity", ["²", "١", HUGE])
def test_a_returned_quantity_in_other_digits_is_refused_inline(till, web_order, quantity):
    from orders.models import Return
    from tests.pos.conftest import RETURNS

    line = web_order.lines.get()
    response = till.post(
        RETURNS,
        {
            "order": web_order.reference,
            f"quantity-{line.pk}": quantity,
            f"reason-{line.pk}": "damaged",
            "restock": "here",
            "outcome": "refund",
        },
        **HX,
    )

    assert response.status_code == 422
    assert "Quantity must be a whole number (line TEE-NAVY-M)." in response.content.decode()
    assert not Return.objects.exists()
