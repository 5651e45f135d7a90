"""Voucher codes on a web cart through the API: entered, refused with a named reason and
nothing kept, removed; the cart and the order answer their discounts and VAT after
discounts exactly as the documented serializers say."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.models import Promotion
from orders.models import CartVoucher
from tests.api.test_orders_api import ADDRESS, add, error_of, new_cart
from tests.loyalty.voucher_data import campaign, code

pytestmark = pytest.mark.django_db


def vouchers_url(token: str) -> str:
    return f"/api/v1/carts/{token}/vouchers/"


def test_a_code_entered_prices_the_cart_and_the_order_keeps_it(web_api, shop, stocked_variant):
    from orders.api.orders import order_detail_queryset
    from orders.api.serializers import CartOutputSerializer, OrderOutputSerializer, order_payload
    from orders.selectors import cart_get, cart_view

    variant = stocked_variant(warehouse=5, price_amount=Decimal("50.00"))
    code(campaign(name="Welcome ten"), "WELC0ME2")
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=2)

    response = web_api.post(vouchers_url(cart["token"]), {"code": "welc0me2"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["subtotal_amount"], body["discount_amount"], body["total_amount"]) == (
        "100.00",
        "10.00",
        "90.00",
    )
    assert body["vouchers"] == [
        {"code": "WELC0ME2", "amount": "10.00", "applied": True, "refusal": None}
    ]
    assert body["vat"] == [{"rate": "20.0", "net": "75.00", "vat": "15.00", "gross": "90.00"}]
    line = body["lines"][0]
    assert (line["discount"], line["total"], line["vat_amount"]) == ("10.00", "90.00", "15.00")
    assert line["discounts"] == [
        {
            "source": "voucher",
            "stage": "order",
            "label": "Welcome ten",
            "amount": "10.00",
            "code": "WELC0ME2",
        }
    ]
    view = cart_view(cart=cart_get(token=cart["token"]), channel=shop.web)
    assert body == CartOutputSerializer(view).data

    placed = web_api.post(
        f"/api/v1/carts/{cart['token']}/checkout/",
        {"payment_method": "pay_later", "shipping_address": ADDRESS},
        format="json",
    )
    assert placed.status_code == 201, placed.json()
    order = order_detail_queryset().get(pk=int(placed.json()["reference"][2:]))
    assert order_payload(order) == OrderOutputSerializer(order).data
    assert placed.json()["discount_amount"] == "10.00"
    assert placed.json()["lines"][0]["discounts"][0]["code"] == "WELC0ME2"


@pytest.mark.parametrize(
    ("rule", "text", "status", "error"),
    [
        ({}, "NOSUCHCODE", 400, "voucher_unknown"),
        ({"min_subtotal": Decimal("500.00")}, "MIN500AB", 409, "voucher_below_minimum"),
        ({"usage_limit": 0}, "EMPTY234", 409, "voucher_exhausted"),
        ({"per_customer_limit": 1}, "ONCEPER2", 409, "voucher_needs_customer"),
    ],
)
def test_a_code_that_does_not_apply_is_refused_with_its_reason_and_not_kept(
    web_api, shop, stocked_variant, rule, text, status, error
):
    variant = stocked_variant(warehouse=5)
    if text != "NOSUCHCODE":
        code(campaign(**rule), text)
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)

    response = web_api.post(vouchers_url(cart["token"]), {"code": text}, format="json")

    assert error_of(response) == (status, error)
    assert not CartVoucher.objects.exists()


def test_a_code_of_another_channel_is_refused(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    in_store = campaign()
    in_store.channels.add(shop.store_channel)
    code(in_store, "STORE567")
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)

    response = web_api.post(vouchers_url(cart["token"]), {"code": "STORE567"}, format="json")
    assert error_of(response) == (409, "voucher_other_channel")


def test_a_code_is_removed_and_an_unknown_one_is_404(web_api, shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    code(campaign(), "REMOVE23")
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)
    web_api.post(vouchers_url(cart["token"]), {"code": "REMOVE23"}, format="json")

    response = web_api.delete(vouchers_url(cart["token"]) + "REMOVE23/")
    assert response.status_code == 200
    assert response.json()["vouchers"] == []
    assert response.json()["discount_amount"] == "0.00"
    missing = web_api.delete(vouchers_url(cart["token"]) + "REMOVE23/")
    assert error_of(missing) == (404, "cart_voucher_not_found")


def test_guessing_codes_from_one_address_is_stopped(web_api, shop, stocked_variant, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "voucher_attempt_per_caller": "3/hour"}
    variant = stocked_variant(warehouse=5)
    code(campaign(), "REALCODE")
    cart = new_cart(web_api)
    add(web_api, cart["token"], sku=variant.sku, quantity=1)
    answers = [
        web_api.post(vouchers_url(cart["token"]), {"code": f"GUESS{n}XY"}, format="json")
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    blocked = web_api.post(vouchers_url(cart["token"]), {"code": "REALCODE"}, format="json")
    assert blocked.status_code == 429
    assert Promotion.objects.get().used_count == 0
