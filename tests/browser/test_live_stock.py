"""Live stock in a real browser: while a seller looks at the stock panel and at the cart,
and a manager at the back-office stock list, other people change the stock (a receipt
at the warehouse, a sale at another till, a web reservation). Each screen shows the new
figures within a few seconds, without a reload."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_receive, stock_sell
from tests.conftest import ARTIFACTS
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SOON = 5_000  # ms: a poll every second, and then some


def seller_at_the_till(page, live_server) -> None:
    page.goto(f"{live_server.url}/pos/login/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()


def test_the_stock_panel_and_the_cart_follow_changes_made_elsewhere(
    live_server, page, screenshot, shop, stocked_variant
):
    scarf = stocked_variant(
        store=3,
        warehouse=6,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )
    seller_at_the_till(page, live_server)
    page.locator("#scan").fill(scarf.barcode)
    page.keyboard.press("Enter")
    line = page.locator('tr[data-sku="SCARF-RED"]')
    expect(line.locator(".line-stock")).to_have_text("3 here")
    line.locator("a.where").click()
    warehouse = page.locator('#stock tr[data-location="warehouse"]')
    paris = page.locator('#stock tr[data-location="paris"]')
    expect(warehouse.locator(".available")).to_have_text("6")
    page.evaluate("window.__noReload = true")
    page.locator("#tendered").fill("50")  # the seller is typing the cash received
    screenshot("live-1-panel-open")

    # A delivery is received at the warehouse, by someone else.
    stock_receive(variant_id=scarf.pk, location_id=shop.warehouse.pk, quantity=4)

    expect(warehouse.locator(".available")).to_have_text("10", timeout=SOON)
    expect(warehouse.locator("td").nth(2)).to_have_text("10")

    # Another till sells two; a web cart holds one at the warehouse.
    stock_sell(location_id=shop.store.pk, lines=[(scarf.pk, 2)])
    stock_reserve(variant_id=scarf.pk, location_id=shop.warehouse.pk, quantity=1)

    expect(paris.locator(".available")).to_have_text("1", timeout=SOON)
    expect(warehouse.locator(".available")).to_have_text("9", timeout=SOON)
    expect(line.locator(".line-stock")).to_have_text("1 here", timeout=SOON)
    expect(page.locator(".live-changed").first).to_be_attached()
    screenshot("live-2-changed-elsewhere")

    # The cash being typed was left alone, and the page never reloaded.
    expect(page.locator("#tendered")).to_have_value("50")
    expect(page.locator("#change")).to_contain_text("€21.00")
    assert page.evaluate("window.__noReload") is True

    # The last one here goes too: the line turns red.
    stock_sell(location_id=shop.store.pk, lines=[(scarf.pk, 1)])
    expect(line.locator(".line-stock")).to_have_text("0 here", timeout=SOON)
    expect(line.locator(".line-stock")).to_have_class(re.compile(r"\bshort\b"))
    screenshot("live-3-none-left-here")

    # Closed, the panel stops polling.
    page.locator("#stock a.close").click()
    expect(page.locator("#stock table")).to_have_count(0)
    expect(page.locator("#stock")).not_to_have_attribute("hx-trigger", "every 1s")
    assert page.evaluate("window.__noReload") is True


@pytest.fixture
def wide_page(browser):
    """The back-office on a desktop screen, wide enough for every column of the list."""
    context = browser.new_context(viewport={"width": 1600, "height": 700}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_back_office_stock_list_follows_changes_made_elsewhere(
    live_server, wide_page, shop, stocked_variant, django_user_model
):
    page = wide_page

    def screenshot(name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    tee = stocked_variant(
        store=5, warehouse=8, sku="TEE-NAVY-M", product=ProductFactory(name="Organic tee")
    )
    stocked_variant(store=2, sku="CAP-GREY", product=ProductFactory(name="Cap"))
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/inventory/stocklevel/")
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill("pw-boss-1")
    page.locator("input[type=submit]").click()
    store_level = StockLevel.objects.get(variant=tee, location=shop.store)
    row = page.locator("#result_list tbody tr").filter(
        has=page.locator(f'a[href$="/stocklevel/{store_level.pk}/change/"]')
    )
    expect(row.locator("td.field-on_hand")).to_have_text("5")
    page.evaluate("window.__noReload = true")
    screenshot("live-4-admin-list")

    stock_sell(location_id=shop.store.pk, lines=[(tee.pk, 2)])
    stock_reserve(variant_id=tee.pk, location_id=shop.store.pk, quantity=1)

    expect(row.locator("td.field-on_hand")).to_have_text("3", timeout=SOON)
    expect(row.locator("td.field-reserved_now")).to_have_text("1", timeout=SOON)
    expect(row.locator("td.field-available_now")).to_have_text("2", timeout=SOON)
    expect(row.locator("td.field-on_hand")).to_have_class(re.compile(r"\blive-changed\b"))
    screenshot("live-5-admin-changed")
    assert page.evaluate("window.__noReload") is True
