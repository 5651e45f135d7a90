"""The left side of the till in a real browser: the product grid by category, a tile
that opens on its variants, search results grouped by product with their "more", and
"Stock elsewhere" in view with this store's row first, even at 0."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog import services
from inventory.services.stock import stock_receive

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

VAT = Decimal("20.0")


def french_catalogue(shop) -> dict:
    tops = services.category_save(name="Hauts", slug="hauts")
    tees = services.category_save(name="T-shirts", slug="t-shirts", parent=tops)
    shirts = services.category_save(name="Chemises", slug="chemises", parent=tops)
    accessories = services.category_save(name="Accessoires", slug="accessoires")
    made = {}

    def product(name, category, price, variants, brand=""):
        item = services.product_create(name=name, vat_rate=VAT, category=category, brand=brand)
        for sku, attributes, here in variants:
            variant = services.variant_create(
                product=item, sku=sku, price_amount=Decimal(price), attributes=attributes
            )
            if here:
                stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=here)
            made[sku] = variant

    sizes = ["S", "M", "L", "XL"]
    product(
        "T-shirt Été",
        tees,
        "19.90",
        [
            (f"TSH-{code}-{s}", {"taille": s, "couleur": c}, 2)
            for code, c in [("ECR", "Écru"), ("NAV", "Navy")]
            for s in sizes
        ],
        brand="Armor",
    )
    product("Tshirt col V", tees, "15.00", [("TCV-BLA-M", {"taille": "M"}, 3)])
    product(
        "Chemise en lin",
        shirts,
        "49.00",
        [(f"CHE-LIN-{n}", {"taille": str(n)}, 1) for n in (38, 40, 42)],
    )
    product("Marinière rayée", tops, "39.00", [("MAR-01", {"taille": "M"}, 0)])
    product("Écharpe laine", accessories, "29.00", [("ECH-LAI-ROU", {"couleur": "Rouge"}, 0)])
    product("Ceinture cuir", accessories, "35.00", [("CEI-CUI-90", {"taille": "90"}, 5)])
    product("Bonnet côtelé", accessories, "18.00", [("BON-COT", {}, 7)])
    stock_receive(variant_id=made["ECH-LAI-ROU"].pk, location_id=shop.warehouse.pk, quantity=6)
    return made


def test_the_seller_browses_searches_and_sees_stock_elsewhere(live_server, page, screenshot, shop):
    made = french_catalogue(shop)
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.evaluate("window.__noReload = true")

    # Nothing typed: the grid of every product, by name, with the units here.
    grid = page.locator("#grid")
    expect(grid.locator(".tile-name")).to_have_text(
        [
            "Bonnet côtelé",
            "Ceinture cuir",
            "Chemise en lin",
            "Écharpe laine",
            "Marinière rayée",
            "T-shirt Été",
            "Tshirt col V",
        ]
    )
    expect(grid.locator('.tile[data-product] >> text="16 here"')).to_have_count(1)
    screenshot("pos-catalog-1-grid")

    # A category chip narrows it.
    grid.get_by_role("link", name="Accessoires").click()
    expect(page.locator("#grid .tile-name")).to_have_text(
        ["Bonnet côtelé", "Ceinture cuir", "Écharpe laine"]
    )
    page.locator("#grid").get_by_role("link", name="All products").click()
    expect(page.locator("#grid .tile")).to_have_count(7)

    # A product of several variants opens on a tap; a variant tapped goes in the cart.
    page.locator('#grid .tile:has(.tile-name:text-is("Chemise en lin")) .tile-tap').click()
    choice = page.locator('#grid .result-button[data-sku="CHE-LIN-40"]')
    expect(choice).to_contain_text("1 here")
    choice.click()
    expect(page.locator('tr[data-sku="CHE-LIN-40"]')).to_be_visible()

    # Typed: one tile per product with the variants that match.
    page.locator("#scan").press_sequentially("t-shirt navy", delay=90)
    results = page.locator("#results")
    expect(results.locator(".tile-name")).to_have_text(["T-shirt Été"])
    expect(results.locator(".result-button")).to_have_count(4)
    expect(page.locator("#grid")).to_be_hidden()
    expect(results.get_by_role("link", name="4 more variants")).to_be_visible()
    page.locator("#scan").fill("")
    page.locator("#scan").press_sequentially("tshirt", delay=90)
    expect(results.locator(".tile-name")).to_have_text(["T-shirt Été", "Tshirt col V"])
    expect(results.locator(".tile").first.locator(".result-button")).to_have_count(4)
    screenshot("pos-catalog-2-results")
    results.get_by_role("link", name="4 more variants").click()
    expect(results.locator(".tile").first.locator(".result-button")).to_have_count(8)

    # Accents aside, and Stock elsewhere: this store first even at 0, in view.
    page.locator("#scan").fill("")
    page.locator("#scan").press_sequentially("echarpe", delay=90)
    expect(results.locator(".tile-name")).to_have_text(["Écharpe laine"])
    results.locator('a.where[data-sku="ECH-LAI-ROU"]').click()
    stock_rows = page.locator("#stock tbody tr")
    expect(stock_rows.first).to_have_attribute("data-location", "paris")
    expect(stock_rows.first.locator(".available")).to_have_text("0")
    expect(page.locator('#stock tr[data-location="warehouse"] .available')).to_have_text("6")
    expect(page.locator("#stock")).to_be_in_viewport()
    screenshot("pos-catalog-3-stock-elsewhere")
    assert made["ECH-LAI-ROU"].sku == "ECH-LAI-ROU"
