"""Selling an item the books say is not here, in a real browser: the seller scans a lamp
the books say Paris does not have, taps "Sell anyway", gives the reason, a manager types
a wrong then the right password on the till, the sale completes, and the stock panel and
the back office show the level below zero in red."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel, UnbookedSale
from tests.conftest import ARTIFACTS
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

RED = "rgb(180, 35, 24)"  # pos.css --danger


def test_a_manager_approves_on_the_till_and_the_level_goes_below_zero_in_red(
    live_server, browser, page, screenshot, shop, stocked_variant
):
    lamp = stocked_variant(
        sku="LAMP-BRASS", price_amount=Decimal("49.00"), product=ProductFactory(name="Brass lamp")
    )
    manager = UserFactory(username="manon", role="store_manager", is_staff=True)
    shop.store.staff.add(manager)

    page.set_viewport_size({"width": 1366, "height": 1024})
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.locator("#scan").fill(lamp.barcode)
    page.keyboard.press("Enter")
    row = page.locator(f'tr[data-sku="{lamp.sku}"]')
    expect(row).to_contain_text("0 here")

    row.locator("summary.sell-anyway").click()
    form = row.locator("form.unbooked-form")
    expect(form).to_contain_text("The books lack 1 unit of it here.")
    form.get_by_label("Reason").select_option("delivery_not_booked")
    form.get_by_label("Manager’s username").fill("manon")
    form.get_by_label("Password").fill("wrong-pass")
    form.get_by_role("button", name="Approve and sell anyway").click()
    error = page.locator(f'tr[data-sku="{lamp.sku}"] .unbooked .error')
    expect(error).to_have_text("Wrong username or password.")
    screenshot("pos-unbooked-1-wrong-password")
    page.locator(f'tr[data-sku="{lamp.sku}"]').screenshot(
        path=str(ARTIFACTS / "pos-unbooked-1b-the-line.png")
    )
    assert not UnbookedSale.objects.exists()

    form = page.locator(f'tr[data-sku="{lamp.sku}"] form.unbooked-form')
    expect(form.get_by_label("Reason")).to_have_value("delivery_not_booked")
    form.get_by_label("Manager’s username").fill("manon")
    form.get_by_label("Password").fill("secret-pass")
    form.get_by_role("button", name="Approve and sell anyway").click()
    approved = page.locator(f'tr[data-sku="{lamp.sku}"] .unbooked-ok')
    expect(approved).to_contain_text("Sold anyway: 1 unit not in the books (delivery not booked)")
    expect(approved).to_contain_text("approved by manon")
    screenshot("pos-unbooked-2-approved")

    page.locator("#tendered").fill("50")
    page.locator("#complete").click()
    expect(page.locator("#workspace")).to_contain_text("completed", timeout=30_000)
    assert StockLevel.objects.get(variant=lamp, location=shop.store).on_hand == -1

    page.goto(f"{live_server.url}/pos/sell/?stock={lamp.pk}")
    cell = page.locator(f'[data-figure="stock:{lamp.pk}:{shop.store.pk}:on_hand"]')
    expect(cell).to_have_text("-1")
    expect(cell).to_have_css("color", RED)
    screenshot("pos-unbooked-3-stock-panel")

    admin = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    back_office = admin.new_page()
    back_office.goto(f"{live_server.url}/admin/login/?next=/admin/inventory/stocklevel/")
    back_office.get_by_label("Username").fill("manon")
    back_office.get_by_label("Password").fill("secret-pass")
    back_office.get_by_role("button", name="Log in").click()
    on_hand = back_office.locator("#result_list td.field-on_hand").first
    expect(on_hand).to_have_text("-1")
    expect(on_hand).to_have_class("field-on_hand stock-negative")
    expect(on_hand).to_have_css("color", "rgb(186, 33, 33)")
    back_office.screenshot(path=str(ARTIFACTS / "admin-unbooked-stock-level.png"), full_page=True)
    admin.close()
