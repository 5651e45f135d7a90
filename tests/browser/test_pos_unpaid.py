"""Goods never leave unpaid, in a real browser: the seller places the order to be paid in
store later, the receipt says the item is handed over once paid, the order is on the
"waiting for payment" list reached from the sale screen's header, and paying it at its
payment panel hands the item over."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel
from orders.models import Order
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_order_to_pay_later_waits_for_its_payment_then_hands_over(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5, sku="TEE-NAVY-M", price_amount=Decimal("19.90"), product=ProductFactory(name="Tee")
    )
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()

    page.get_by_role("button", name="Place the order, pay in store later").click()

    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("handed over once paid")
    screenshot("unpaid-1-placed")
    order = Order.objects.get()
    level = StockLevel.objects.get(variant=tee, location=shop.store)
    assert (level.on_hand, level.reserved) == (5, 1)

    page.get_by_role("link", name="Waiting for payment").click()
    row = page.locator(f'.unpaid-orders li[data-order="{order.reference}"]')
    expect(row).to_contain_text("goods waiting here")
    expect(row).to_contain_text("€19.90")
    screenshot("unpaid-2-list")
    row.get_by_role("link").click()

    expect(page.locator("#payment-panel")).to_be_visible()
    page.locator("#pay-tendered").fill("20")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator(".paid-title")).to_have_text("Paid")
    screenshot("unpaid-3-paid")
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (4, 0)
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("fulfilled", "paid")

    page.goto(f"{live_server.url}/pos/unpaid/")
    expect(page.locator(".unpaid-orders")).to_contain_text("Nothing is waiting for payment.")
