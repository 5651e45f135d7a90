"""A seller's whole sale in a real browser: log in, pick the till, scan, search, change a
quantity, get told off for an unknown barcode, take cash, see the change. The page is
never reloaded: every step swaps a partial."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel, StockMovement
from orders.models import Order
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_seller_completes_a_cash_sale_without_a_page_reload(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    scarf = stocked_variant(
        store=2,
        warehouse=6,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )

    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()
    page.evaluate("window.__noReload = true")
    screenshot("pos-1-empty")

    # A scanner types the barcode and presses Enter.
    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()
    expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("#scan")).to_be_focused()

    # Typing part of a name lists matches with the stock here; a tap adds one.
    page.locator("#scan").press_sequentially("wool")
    result = page.locator(f'.result-button[data-sku="{scarf.sku}"]')
    expect(result).to_contain_text("2 here")
    # Where else is it? The panel lists every location without leaving the sale.
    page.locator(f'a.where[data-sku="{scarf.sku}"]').first.click()
    expect(page.locator('#stock tr[data-location="warehouse"] .available')).to_have_text("6")
    expect(page.locator('#stock tr[data-location="paris"]')).to_contain_text("here")
    screenshot("pos-1b-stock-elsewhere")
    result.click()
    expect(page.locator(f'tr[data-sku="{scarf.sku}"]')).to_be_visible()

    page.locator(f'tr[data-sku="{tee.sku}"]').get_by_role("button", name="One more").click()
    expect(page.locator(f'tr[data-sku="{tee.sku}"] .n')).to_have_text("2")
    expect(page.locator("#total")).to_have_text("€68.80")

    # An unknown barcode: an inline message, the cart untouched.
    page.locator("#scan").fill("4006381333931")
    page.keyboard.press("Enter")
    expect(page.locator("#pos-message .error")).to_contain_text("No product has the barcode")
    expect(page.locator("table.cart tbody tr")).to_have_count(2)
    screenshot("pos-2-cart-with-error")

    # F2 jumps to the cash field; the change shows as the seller types.
    page.keyboard.press("F2")
    expect(page.locator("#tendered")).to_be_focused()
    page.keyboard.type("100")
    expect(page.locator("#change")).to_contain_text("€31.20")
    screenshot("pos-3-cash")
    page.get_by_role("button", name="Complete sale").click()

    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("completed")
    expect(receipt.locator(".change-due")).to_have_text("€31.20")
    screenshot("pos-4-receipt")
    assert page.evaluate("window.__noReload") is True

    order = Order.objects.get()
    assert order.total_amount == Decimal("68.80")
    assert StockLevel.objects.get(variant=tee, location=shop.store).on_hand == 3
    assert StockLevel.objects.get(variant=scarf, location=shop.store).on_hand == 1
    assert StockMovement.objects.filter(reason="sale").count() == 2

    page.get_by_role("button", name="New sale").click()
    expect(page.locator(".receipt")).to_have_count(0)
    expect(page.locator("table.cart")).to_contain_text("Scan an item to start a sale.")


def test_the_till_speaks_french_with_french_amounts(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(store=5, price_amount=Decimal("1234.50"))
    page.goto(f"{live_server.url}/pos/login/")
    page.get_by_role("button", name="FR").click()
    page.get_by_label("Nom d’utilisateur").fill("seller")
    page.get_by_label("Mot de passe").fill("secret-pass")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Till 1").click()

    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")

    expect(page.locator("#total")).to_have_text("1\u202f234,50\u00a0€")
    expect(page.get_by_role("button", name="Valider la vente")).to_be_visible()
    screenshot("pos-5-french")


def test_on_a_portrait_tablet_the_sale_stacks_under_the_search(
    live_server, browser, shop, stocked_variant
):
    from tests.conftest import ARTIFACTS

    tee = stocked_variant(store=5)
    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/pos/login/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()

    search = page.locator(".catalog").bounding_box()
    sale = page.locator("#workspace").bounding_box()
    assert sale["y"] >= search["y"] + search["height"]
    assert sale["width"] > 700
    page.screenshot(path=str(ARTIFACTS / "pos-6-portrait.png"), full_page=True)
    context.close()
