"""The unified cart, end to end: a customer fills a cart through the REST API (a web
front end with its channel key, over HTTP to the live server) and identifies with a
phone; in the store, the seller (real Chromium) finds them by that phone typed another
way, opens the very same cart, sees the web lines and sells it for cash. The order says
both channels, and the goods left the store."""

from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel
from orders.models import Cart, CartEvent, Order
from payments.models import Payment
from tests.factories import ProductFactory
from unicommerce.channels.services import api_key_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def log_in_at_till_1(page, live_server) -> None:
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()


def test_a_web_cart_found_by_phone_is_finished_in_the_store(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5,
        warehouse=10,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    scarf = stocked_variant(
        store=3,
        warehouse=6,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )
    _, web_key = api_key_create(name="web front end", channel=shop.web)

    # The web front end: a cart, two lines, the customer gives their phone.
    with httpx.Client(
        base_url=f"{live_server.url}/api/v1",
        headers={"Authorization": f"Bearer {web_key}"},
        timeout=10,
    ) as api:
        created = api.post("/carts/")
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        assert api.post(f"/carts/{token}/lines/", json={"sku": tee.sku, "quantity": 2}).is_success
        assert api.post(f"/carts/{token}/lines/", json={"sku": scarf.sku}).is_success
        identified = api.post(
            f"/carts/{token}/identify/",
            json={"phone": "+33 6 12 34 56 78", "first_name": "Camille", "last_name": "Martin"},
        )
        assert identified.status_code == 200, identified.text
        token = identified.json()["token"]
        assert identified.json()["total_amount"] == "68.80"

    # In the store: the seller finds Camille by the phone she says, written another way.
    log_in_at_till_1(page, live_server)
    page.evaluate("window.__noReload = true")
    page.keyboard.press("F3")
    expect(page.locator("#find")).to_be_focused()
    page.keyboard.type("06.12.34.56.78")
    page.keyboard.press("Enter")
    panel = page.locator("#customer")
    expect(panel).to_contain_text("Camille Martin")
    expect(panel).to_contain_text("06 12 34 56 78")
    web_cart_row = panel.locator(f'li[data-cart="{token}"]')
    expect(web_cart_row).to_contain_text("3 items on Web store")
    expect(web_cart_row).to_contain_text("€68.80")
    screenshot("unified-1-customer-found")

    web_cart_row.get_by_role("button", name="Open this cart").click()
    workspace = page.locator("#workspace")
    expect(workspace).to_contain_text("Cart from Web store opened.")
    expect(workspace.locator("#cart-owner")).to_contain_text("Cart filled on Web store")
    expect(workspace.locator(f'tr[data-sku="{tee.sku}"] .n')).to_have_text("2")
    expect(workspace.locator(f'tr[data-sku="{scarf.sku}"] .n')).to_have_text("1")
    expect(page.locator("#total")).to_have_text("€68.80")
    expect(panel).to_be_empty()
    screenshot("unified-2-web-cart-opened")

    page.keyboard.press("F2")
    expect(page.locator("#tendered")).to_be_focused()
    page.keyboard.type("100")
    expect(page.locator("#change")).to_contain_text("€31.20")
    page.get_by_role("button", name="Complete sale").click()

    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("completed")
    expect(receipt.locator(".channels")).to_have_text(
        "Cart filled on Web store, checked out on Paris store"
    )
    expect(receipt.locator('li[data-fulfilment="taken_now"]')).to_have_count(2)
    expect(receipt.locator(".change-due")).to_have_text("€31.20")
    screenshot("unified-3-receipt")
    assert page.evaluate("window.__noReload") is True

    # The very same cart became the order: web origin, store checkout, stock out of Paris.
    order = Order.objects.get()
    cart = Cart.objects.get(token=token)
    assert order.cart_id == cart.pk
    assert cart.status == Cart.Status.CHECKED_OUT
    assert (order.origin_channel, order.channel) == (shop.web, shop.store_channel)
    assert order.customer.phone == "+33612345678"
    assert CartEvent.objects.filter(
        cart=cart, kind=CartEvent.Kind.OPENED, channel=shop.store_channel
    ).exists()
    assert Payment.objects.get(order=order).change_amount == Decimal("31.20")
    levels = {
        (level.variant.sku, level.location.code): level.on_hand
        for level in StockLevel.objects.select_related("variant", "location")
    }
    assert levels == {
        ("TEE-NAVY-M", "paris"): 3,
        ("TEE-NAVY-M", "warehouse"): 10,
        ("SCARF-RED", "paris"): 2,
        ("SCARF-RED", "warehouse"): 6,
    }

    # The front end sees the same order, with both channels.
    with httpx.Client(
        base_url=f"{live_server.url}/api/v1",
        headers={"Authorization": f"Bearer {web_key}"},
        timeout=10,
    ) as api:
        answer = api.get(f"/orders/{order.reference}/")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["origin_channel"], answer.json()["channel"]) == ("web", "store-paris")


def test_on_a_tablet_a_mixed_basket_is_placed_and_paid_in_store_later(
    live_server, browser, shop, stocked_variant
):
    from inventory.services.stock import stock_receive
    from orders.models import OrderLine
    from orders.services.carts import cart_create, cart_line_add
    from tests.conftest import ARTIFACTS
    from tests.factories import CustomerFactory, LocationFactory, SalesChannelFactory

    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[lyon_channel])
    tee = stocked_variant(store=5, warehouse=10, sku="TEE-NAVY-M", price_amount=Decimal("19.90"))
    scarf = stocked_variant(store=0, warehouse=6, sku="SCARF-RED", price_amount=Decimal("29.00"))
    stock_receive(variant_id=tee.pk, location_id=lyon.pk, quantity=4)
    camille = CustomerFactory(
        first_name="Camille", last_name="Martin", email="camille@example.com", phone="+33612345678"
    )
    cart = cart_create(channel=shop.web, customer=camille)
    cart_line_add(cart=cart, variant=tee, quantity=2, channel=shop.web)
    cart_line_add(cart=cart, variant=scarf, quantity=1, channel=shop.web)

    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in_at_till_1(page, live_server)
    page.locator("#find").fill("camille@example.com")
    page.locator("#find").press("Enter")
    expect(page.locator(".open-cart")).to_be_focused()  # Enter opens it
    page.keyboard.press("Enter")
    expect(page.locator("#cart-owner")).to_contain_text("Cart filled on Web store")

    page.locator(f'tr[data-sku="{tee.sku}"] select[name=fulfilment]').select_option(
        label="Collect at Lyon"
    )
    expect(page.locator(f'tr[data-sku="{tee.sku}"] .line-stock')).to_have_text("4 at Lyon")
    page.locator(f'tr[data-sku="{scarf.sku}"] select[name=fulfilment]').select_option(
        label="Ship home"
    )
    expect(page.locator(f'tr[data-sku="{scarf.sku}"] .line-stock')).to_have_text("6 to ship")
    address = page.locator("#ship-address")
    expect(address.get_by_label("Name")).to_have_value("Camille Martin")
    address.get_by_label("Address", exact=True).fill("3 rue de la Paix")
    address.get_by_label("Postal code").fill("7500")
    address.get_by_label("City").fill("Paris")
    address.get_by_role("button", name="Save the address").click()
    expect(address.locator(".field-error")).to_have_text(
        "This is not a postal code of the country chosen."
    )
    page.screenshot(path=str(ARTIFACTS / "unified-4-tablet-mixed-basket.png"), full_page=True)
    address.get_by_label("Postal code").fill("75002")
    address.get_by_role("button", name="Save the address").click()
    expect(page.locator("#ship-address address")).to_contain_text("75002 Paris")

    page.get_by_role("button", name="Place the order, pay in store later").click()
    receipt = page.locator(".receipt")
    expect(receipt.locator(f'li[data-sku="{tee.sku}"]')).to_contain_text("click & collect at Lyon")
    expect(receipt.locator(f'li[data-sku="{scarf.sku}"]')).to_contain_text("shipped from Warehouse")
    expect(receipt.locator("h2")).to_contain_text("placed")
    expect(receipt.locator(".awaiting")).to_have_text("to be paid in store")
    page.screenshot(path=str(ARTIFACTS / "unified-5-tablet-mixed-receipt.png"), full_page=True)
    context.close()

    lines = {line.sku: line for line in OrderLine.objects.select_related("location")}
    assert (lines["TEE-NAVY-M"].fulfilment, lines["TEE-NAVY-M"].location) == ("collect", lyon)
    assert (lines["SCARF-RED"].fulfilment, lines["SCARF-RED"].location) == (
        "ship",
        shop.warehouse,
    )
