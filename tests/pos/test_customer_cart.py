"""The POS customer panel: find the customer (phone in any format, email, the cart's QR
code), open their cart from any channel (the same row), identify the till's cart by
phone, and choose each line's fulfilment. Django's client, with and without htmx."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Cart, CartEvent, CartLine
from orders.services.carts import cart_create, cart_line_add
from tests.factories import CustomerFactory, UserFactory
from tests.pos.conftest import HX, SELL, web_order_delivered

pytestmark = pytest.mark.django_db


def find(client, text: str):
    return client.post(SELL, {"action": "find", "find": text}, **HX)


def current_token(client) -> str:
    return client.session["pos_cart_token"]


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678"])
def test_a_phone_in_any_format_finds_the_customer_with_their_web_cart(
    till, shop, camille, web_cart, typed
):
    response = find(till, typed)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="customer"')
    assert "Camille Martin" in fragment
    assert "06 12 34 56 78" in fragment  # the phone, as the seller reads it
    assert f'data-cart="{web_cart.token}"' in fragment
    assert "3 items on Web store" in fragment
    assert "€68.80" in fragment  # 2 × 19.90 + 29.00, today's prices
    assert "Open this cart" in fragment


def test_an_email_in_capitals_finds_the_customer_and_lists_the_orders_of_this_store(
    till, shop, camille, tee
):
    web_order = web_order_delivered(shop=shop, customer=camille, variant=tee)
    here = web_order_delivered(shop=shop, customer=camille, variant=tee, location=shop.store)

    response = find(till, "  CAMILLE@Example.com ")

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "Camille Martin" in fragment
    assert "No open cart." in fragment
    assert f'data-order="{here.reference}"' in fragment
    assert f"/pos/returns/?order={here.reference}" in fragment
    # shipped from the warehouse: not this store's order, so not shown to its seller
    assert f'data-order="{web_order.reference}"' not in fragment


def test_head_office_at_a_till_sees_the_customers_orders_of_every_channel(
    client, shop, camille, tee
):
    web_order = web_order_delivered(shop=shop, customer=camille, variant=tee)
    boss = UserFactory(role="head_office")
    client.force_login(boss)
    client.post("/pos/", {"register": shop.register.pk})

    fragment = find(client, "camille@example.com").content.decode()

    assert f'data-order="{web_order.reference}"' in fragment


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("06 12", "is not a valid phone number"),
        ("06 98 76 54 32", "No customer has the phone number 06 98 76 54 32."),
        ("nobody@example.com", "No customer has the email nobody@example.com."),
        ("", "Type a phone number or an email, or scan the cart"),
        ("hello there", "is neither a phone number, an email nor a cart"),
    ],
)
def test_bad_searches_get_an_inline_error_and_change_nothing(
    till, camille, web_cart, typed, message
):
    till.get(SELL)
    before = current_token(till)

    response = find(till, typed)

    assert response.status_code == 422
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="customer"')
    assert message in fragment
    assert till.session.get("pos_cart_token") == before
    assert not CartEvent.objects.filter(kind=CartEvent.Kind.OPENED).exists()


def test_opening_the_customers_web_cart_makes_that_same_cart_the_registers(
    till, shop, camille, web_cart
):
    response = till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#workspace"
    assert fragment.lstrip().startswith('<section id="workspace"')
    assert current_token(till) == web_cart.token  # the very same row, not a copy
    assert Cart.objects.filter(customer=camille).count() == 1
    assert CartLine.objects.count() == 2
    assert 'data-sku="TEE-NAVY-M"' in fragment
    assert 'data-sku="SCARF-RED"' in fragment
    assert "Cart filled on Web store" in fragment
    assert "Camille Martin" in fragment
    assert 'id="customer" class="customer-panel" aria-live="polite" hx-swap-oob="true"' in fragment
    opened = CartEvent.objects.get(cart=web_cart, kind=CartEvent.Kind.OPENED)
    assert opened.channel == shop.store_channel

    # The till keeps working on it: a scan adds to the customer's cart.
    till.post(SELL, {"action": "add", "variant": web_cart.lines.first().variant_id}, **HX)
    assert web_cart.lines.get(variant__sku="TEE-NAVY-M").quantity == 3


@pytest.mark.parametrize(
    "scanned",
    ["{token}", "https://shop.example/cart/{token}", "https://shop.example/c?cart={token}"],
)
def test_the_carts_qr_code_scanned_in_the_search_opens_it(till, web_cart, scanned):
    response = find(till, scanned.format(token=web_cart.token))

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#workspace"
    assert current_token(till) == web_cart.token


def test_the_qr_code_scanned_in_the_product_field_opens_the_cart_too(till, web_cart):
    response = till.post(
        SELL, {"action": "scan", "code": f"https://shop.example/cart/{web_cart.token}/"}, **HX
    )

    assert response.status_code == 200
    assert current_token(till) == web_cart.token
    assert "Cart from Web store opened." in response.content.decode()


def test_an_anonymous_web_cart_is_foreign_to_the_store(till, shop, tee):
    anonymous = cart_create(channel=shop.web)
    cart_line_add(cart=anonymous, variant=tee, channel=shop.web)
    till.get(SELL)
    before = current_token(till)

    response = find(till, anonymous.token)

    assert response.status_code == 422
    assert "This cart belongs to someone else." in response.content.decode()
    assert current_token(till) == before
    assert not CartEvent.objects.filter(kind=CartEvent.Kind.OPENED).exists()


def test_an_expired_or_unknown_cart_is_refused(till, web_cart):
    Cart.objects.filter(pk=web_cart.pk).update(expires_at=timezone.now() - timedelta(days=1))

    expired = till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    unknown = find(till, "Z" * 32)

    assert expired.status_code == 422
    assert "This cart has expired" in expired.content.decode()
    assert unknown.status_code == 422
    assert "No cart has this token." in unknown.content.decode()
    assert till.session.get("pos_cart_token") != web_cart.token


def test_without_htmx_opening_a_cart_redirects_to_the_sale(till, web_cart):
    response = till.post(SELL, {"action": "open", "token": web_cart.token})

    assert response.status_code == 302
    assert response["Location"] == SELL
    assert current_token(till) == web_cart.token
    page = till.get(SELL).content.decode()
    assert "Cart filled on Web store" in page


def test_identifying_the_tills_cart_by_phone_attaches_the_customer(till, shop, tee):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    cart = Cart.objects.get(token=current_token(till))

    response = till.post(SELL, {"action": "identify", "phone": "07 81 22 33 44"}, **HX)

    assert response.status_code == 200
    cart.refresh_from_db()
    assert cart.customer.phone == "+33781223344"
    assert current_token(till) == cart.token
    assert "07 81 22 33 44" in response.content.decode()
    assert CartEvent.objects.filter(cart=cart, kind=CartEvent.Kind.IDENTIFIED).exists()


def test_identifying_a_customer_who_has_a_web_cart_merges_the_tills_lines_into_it(
    till, shop, camille, web_cart, tee
):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    till_cart = Cart.objects.get(token=current_token(till))

    response = till.post(SELL, {"action": "identify", "phone": "+33 6 12 34 56 78"}, **HX)

    assert response.status_code == 200
    assert current_token(till) == web_cart.token
    assert web_cart.lines.get(variant=tee).quantity == 3
    till_cart.refresh_from_db()
    assert (till_cart.status, till_cart.merged_into_id) == (Cart.Status.MERGED, web_cart.pk)


def test_an_invalid_phone_to_identify_is_refused_inline(till, tee):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    cart = Cart.objects.get(token=current_token(till))

    response = till.post(SELL, {"action": "identify", "phone": "12"}, **HX)

    assert response.status_code == 422
    assert "is not a valid phone number" in response.content.decode()
    cart.refresh_from_db()
    assert cart.customer is None


def test_each_line_can_be_taken_now_collected_elsewhere_or_shipped_home(
    till, shop, lyon, web_cart, tee, scarf
):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    tee_line = web_cart.lines.get(variant=tee)
    scarf_line = web_cart.lines.get(variant=scarf)

    page = till.get(SELL).content.decode()
    assert f'value="collect:{lyon.pk}"' in page
    assert f'value="collect:{shop.store.pk}"' not in page  # this store: taken now
    assert "5 here" in page

    till.post(
        SELL,
        {"action": "fulfilment", "line": tee_line.pk, "fulfilment": f"collect:{lyon.pk}"},
        **HX,
    )
    response = till.post(
        SELL, {"action": "fulfilment", "line": scarf_line.pk, "fulfilment": "ship"}, **HX
    )

    tee_line.refresh_from_db()
    scarf_line.refresh_from_db()
    assert (tee_line.fulfilment, tee_line.location) == ("collect", lyon)
    assert (scarf_line.fulfilment, scarf_line.location) == ("ship", None)
    fragment = response.content.decode()
    assert "0 at Lyon" in fragment  # nothing in Lyon yet: the seller sees it
    assert "9 to ship" in fragment  # 3 here + 6 in the warehouse
    assert "Shipping address" in fragment
    assert 'name="ship-postal_code"' in fragment

    till.post(SELL, {"action": "fulfilment", "line": tee_line.pk, "fulfilment": "taken_now"}, **HX)
    tee_line.refresh_from_db()
    assert tee_line.fulfilment == "taken_now"


@pytest.mark.parametrize("choice", ["collect:999999", "teleport", "collect:"])
def test_a_bad_fulfilment_choice_is_refused_and_changes_nothing(till, web_cart, choice):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    line = web_cart.lines.first()

    response = till.post(
        SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": choice}, **HX
    )

    assert response.status_code == 422
    line.refresh_from_db()
    assert line.fulfilment == ""


def test_collect_at_a_warehouse_is_refused(till, shop, web_cart):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    line = web_cart.lines.first()

    response = till.post(
        SELL,
        {"action": "fulfilment", "line": line.pk, "fulfilment": f"collect:{shop.warehouse.pk}"},
        **HX,
    )

    assert response.status_code == 422
    assert "Choose the store the customer collects from." in response.content.decode()
    assert CartLine.objects.get(pk=line.pk).fulfilment == ""


ADDRESS = {
    "action": "address",
    "ship-name": "Camille Martin",
    "ship-line1": "3 rue de la Paix",
    "ship-postal_code": "75002",
    "ship-city": "Paris",
    "ship-country": "FR",
}


def test_the_shipping_address_is_checked_then_kept_for_the_checkout(till, web_cart, scarf):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)
    line = web_cart.lines.get(variant=scarf)
    till.post(SELL, {"action": "fulfilment", "line": line.pk, "fulfilment": "ship"}, **HX)

    bad = till.post(SELL, {**ADDRESS, "ship-postal_code": "7500", "ship-city": ""}, **HX)

    assert bad.status_code == 422
    text = bad.content.decode()
    assert "Check the shipping address." in text
    assert "This is not a postal code of the country chosen." in text
    assert "This field is required." in text
    assert "pos_ship_address" not in till.session

    good = till.post(SELL, ADDRESS, **HX)

    assert good.status_code == 200
    assert "3 rue de la Paix" in good.content.decode()
    assert till.session["pos_ship_address"] == {
        "cart": web_cart.token,
        "address": {
            "name": "Camille Martin",
            "line1": "3 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
    }


def test_putting_the_cart_back_leaves_it_open_for_the_customer(till, web_cart):
    till.post(SELL, {"action": "open", "token": web_cart.token}, **HX)

    response = till.post(SELL, {"action": "release"}, **HX)

    assert response.status_code == 200
    assert current_token(till) != web_cart.token
    web_cart.refresh_from_db()
    assert web_cart.status == Cart.Status.OPEN
    assert web_cart.lines.count() == 2


def test_the_panel_lists_only_open_unexpired_carts_of_any_channel(till, shop, camille, tee):
    store_cart = cart_create(channel=shop.store_channel, customer=camille)
    cart_line_add(cart=store_cart, variant=tee, channel=shop.store_channel)
    old = cart_create(channel=shop.web, customer=camille)
    cart_line_add(cart=old, variant=tee, channel=shop.web)
    Cart.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    other = cart_create(channel=shop.web, customer=CustomerFactory())
    cart_line_add(cart=other, variant=tee, channel=shop.web)

    fragment = find(till, "0612345678").content.decode()

    assert f'data-cart="{store_cart.token}"' in fragment
    assert "1 item on Paris store" in fragment
    assert old.token not in fragment
    assert other.token not in fragment


def test_the_customer_panel_speaks_french(till, camille, web_cart):
    from django.conf import settings

    till.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = find(till, "06 12 34 56 78")

    fragment = response.content.decode()
    assert "3 articles sur Web store" in fragment
    assert "Ouvrir ce panier" in fragment
    assert "Aucune commande ici." in fragment
    refused = find(till, "06 98 76 54 32").content.decode()
    assert "Aucun client n’a le numéro 06 98 76 54 32." in refused
