"""A web order brought back to a store, in a real browser: the seller types the order's
reference on the returns screen (the till lists only this store's orders), returns one
item to the shelf here for store credit; the return is flagged cross-channel and the
store's stock grows."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel
from orders.models import Return
from tests.factories import CustomerFactory, ProductFactory
from tests.pos.conftest import web_order_delivered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_web_order_is_returned_in_the_store(live_server, page, screenshot, shop, stocked_variant):
    tee = stocked_variant(
        store=5,
        warehouse=10,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    camille = CustomerFactory(
        first_name="Camille", last_name="Martin", email="camille@example.com", phone="+33612345678"
    )
    order = web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=2)

    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()

    # A web order is not this store's: it is not in the customer's list at the till, but
    # any store takes it back by the reference on the customer's confirmation.
    page.locator("#find").fill("Camille@Example.com")
    page.locator("#find").press("Enter")
    expect(page.locator("#customer")).to_contain_text("type its reference on the Returns")
    expect(page.locator(f'#customer li[data-order="{order.reference}"]')).to_have_count(0)
    page.goto(f"{live_server.url}/pos/returns/")
    page.locator("#order-ref").fill(order.reference)
    page.locator("#order-ref").press("Enter")

    expect(page.locator("#return-order")).to_contain_text(f"Order {order.reference}")
    expect(page.locator("#return-order .cross")).to_have_text("Cross-channel return")
    line = order.lines.get()
    # More than bought: told inline, nothing recorded.
    page.locator(f"#quantity-{line.pk}").fill("3")
    page.get_by_role("button", name="Confirm the return").click()
    expect(page.locator("#return-order .error")).to_contain_text("2 can come back")
    screenshot("return-1-too-many")

    page.locator(f"#quantity-{line.pk}").fill("1")
    page.locator(f"#reason-{line.pk}").select_option("wrong_size")
    page.get_by_label("Store credit").check()
    page.get_by_role("button", name="Confirm the return").click()

    receipt = page.locator(".return-receipt")
    expect(receipt).to_contain_text("recorded for order")
    expect(receipt).to_contain_text("Cross-channel: bought on Web store")
    expect(receipt.locator(".outcome")).to_have_text("Store credit")
    expect(receipt.locator(".amount")).to_have_text("€19.90")
    screenshot("return-2-receipt")

    ret = Return.objects.get()
    assert (ret.is_cross_channel, ret.outcome, ret.channel) == (
        True,
        "store_credit",
        shop.store_channel,
    )
    assert StockLevel.objects.get(variant=tee, location=shop.store).on_hand == 6
