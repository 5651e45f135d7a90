"""Park and recall in a real browser: the seller parks a sale, serves someone else, and
recalls the parked sale with its lines; a void asks for its reason."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_sale_is_parked_then_recalled(live_server, page, screenshot, shop, stocked_variant):
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

    page.get_by_role("button", name="Park the sale").click()
    expect(page.locator("#pos-message")).to_contain_text("Sale parked")
    parked = page.locator(".parked-sales li")
    expect(parked).to_have_count(1)
    expect(parked).to_contain_text("1 item")
    screenshot("parking-1-parked")

    parked.get_by_role("button", name="Recall").click()
    expect(page.locator("#pos-message")).to_contain_text("Parked sale recalled")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()

    page.locator(".void-sale summary").click()
    page.locator("#void-reason").fill("Customer left")
    page.get_by_role("button", name="Void every line").click()
    expect(page.locator("#pos-message")).to_contain_text("Sale voided")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_have_count(0)
    screenshot("parking-2-voided")
