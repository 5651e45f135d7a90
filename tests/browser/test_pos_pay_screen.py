"""The sale screen on a landscape tablet (issue 12): with a full cart the total, the change
and *Complete sale* are in view without scrolling, at 1024×768 and 1366×768; the lines
scroll inside the sale. A card sale is one action on the one pay screen; a customer is
named at the till (refused inline first, then created)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from orders.models import Cart, Order
from payments.models import Payment
from tests.conftest import ARTIFACTS
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def log_in_at_till_1(page, live_server) -> None:
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()


def add_lines(page, live_server, variants) -> None:
    """Put the variants in the till's cart (the add action, as a tap on a result does),
    then show the sale."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for variant in variants:
        answer = page.request.post(
            f"{live_server.url}/pos/sell/",
            form={"action": "add", "variant": str(variant.pk)},
            headers={"X-CSRFToken": csrf, "HX-Request": "true"},
        )
        assert answer.ok, answer.status
    page.goto(f"{live_server.url}/pos/sell/")


def in_view(page, selector: str, viewport: dict) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not displayed"
    assert box["height"] > 0, selector
    assert box["y"] >= 0, (selector, box)
    assert box["y"] + box["height"] <= viewport["height"], (selector, box)
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= viewport["width"], (selector, box)


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768)], ids=["1024x768", "1366x768"])
def test_with_8_lines_the_total_the_change_and_complete_sale_are_in_view(
    live_server, browser, shop, stocked_variant, size
):
    width, height = size
    viewport = {"width": width, "height": height}
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        variants = [
            stocked_variant(
                store=5,
                sku=f"ITEM-{n}",
                price_amount=Decimal("10.00") + n,
                product=ProductFactory(name=f"Item number {n}"),
            )
            for n in range(8)
        ]
        log_in_at_till_1(page, live_server)
        add_lines(page, live_server, variants)
        expect(page.locator("table.cart tbody tr[data-sku]")).to_have_count(8)
        expect(page.locator("#total")).to_have_text("€108.00")

        page.locator("#tendered").fill("120")
        expect(page.locator("#change")).to_contain_text("€12.00")
        for selector in ("#total", "#change", "#complete", "#tendered", "label[for=pay-with-card]"):
            in_view(page, selector, viewport)
        page.screenshot(path=str(ARTIFACTS / f"pay-screen-{width}x{height}.png"))
        # The page itself does not scroll; the lines scroll inside the sale.
        assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
        assert page.evaluate(
            "(() => { const b = document.querySelector('#workspace .sale-body');"
            " return b.scrollHeight > b.clientHeight; })()"
        )
        # The search column takes the left side, the sale the right.
        catalog = page.locator(".catalog").bounding_box()
        sale = page.locator("#workspace").bounding_box()
        assert catalog["x"] + catalog["width"] <= sale["x"]
        assert sale["y"] + sale["height"] <= height

        # Every tender's button is in view once picked.
        for code, button in (("card", "#pay-card"), ("split", "#pay-split"), ("link", "#pay-link")):
            page.locator(f"label[for=pay-with-{code}]").click()
            expect(page.locator(button)).to_be_visible()
            in_view(page, button, viewport)
        page.screenshot(path=str(ARTIFACTS / f"pay-screen-{width}x{height}-link.png"))
    finally:
        context.close()


def test_a_card_sale_is_one_action_on_the_pay_screen(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    scarf = stocked_variant(
        store=3,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
    )
    log_in_at_till_1(page, live_server)
    add_lines(page, live_server, [tee, tee, scarf])
    expect(page.locator("#total")).to_have_text("€68.80")
    page.evaluate("window.__noReload = true")

    page.locator("label[for=pay-with-card]").click()
    expect(page.locator("#tender-card")).to_contain_text("Charge €68.80 on the card terminal")
    expect(page.locator("#complete")).to_be_hidden()
    screenshot("pay-screen-card-picked")
    page.get_by_role("button", name="Card approved: complete the sale").click()

    receipt = page.locator(".receipt")
    expect(receipt.locator(".paid-title")).to_have_text("Paid")
    expect(receipt).to_contain_text("completed")
    expect(receipt.locator('tr[data-method="card_terminal"]')).to_contain_text("€68.80")
    screenshot("pay-screen-card-paid")
    assert page.evaluate("window.__noReload") is True
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert list(Payment.objects.values_list("method", "amount")) == [
        ("card_terminal", Decimal("68.80"))
    ]

    page.get_by_role("button", name="New sale").click()
    expect(page.locator("table.cart")).to_contain_text("Scan an item to start a sale.")


def test_a_named_customer_is_created_at_the_till(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(store=5, sku="TEE-NAVY-M", price_amount=Decimal("19.90"))
    log_in_at_till_1(page, live_server)
    add_lines(page, live_server, [tee])

    page.get_by_text("Name the customer").click()
    page.locator("#identify-first-name").fill("Léa")
    page.locator("#identify-last-name").fill("Dubois")
    page.locator("#identify-email").fill("lea@")
    page.get_by_role("button", name="Attach to the sale").click()
    # Refused in the form, what was typed kept, the field marked; nothing created.
    expect(page.locator("#identify-error")).to_contain_text("is not a valid email address")
    expect(page.locator("#identify-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#identify-first-name")).to_have_value("Léa")
    screenshot("pay-screen-identify-refused")
    assert not Customer.objects.exists()

    page.locator("#identify-email").fill("lea.dubois@example.com")
    page.locator("#identify-phone").fill("07 81 22 33 44")
    page.get_by_role("button", name="Attach to the sale").click()

    owner = page.locator("#cart-owner")
    expect(owner).to_contain_text("Léa Dubois")
    expect(owner).to_contain_text("new customer")
    screenshot("pay-screen-identified")
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.email, customer.phone) == (
        "Léa",
        "Dubois",
        "lea.dubois@example.com",
        "+33781223344",
    )
    assert Cart.objects.get(customer=customer).lines.count() == 1
    # The link tender offers the customer's phone.
    page.locator("label[for=pay-with-link]").click()
    expect(page.locator("#link-phone")).to_have_value("07 81 22 33 44")


def test_a_link_sale_keeps_the_links_status_in_view_and_new_sale_apart(
    live_server, page, screenshot, shop, stocked_variant, settings
):
    from payments.models import PaymentLink
    from tests.conftest import wait_until
    from unicommerce.messaging import backends
    from unicommerce.messaging.models import Message
    from unicommerce.messaging.services import message_deliver

    settings.PUBLIC_BASE_URL = live_server.url
    backends.outbox.clear()
    tee = stocked_variant(store=5, sku="TEE-NAVY-M", price_amount=Decimal("19.90"))
    log_in_at_till_1(page, live_server)
    add_lines(page, live_server, [tee, tee])
    page.evaluate("window.__noReload = true")

    page.locator("label[for=pay-with-link]").click()
    page.locator("#link-phone").fill("06 12 34 56 78")
    page.get_by_role("button", name="Send the link").click()

    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("placed")
    row = receipt.locator(".links .link")
    expect(row).to_have_attribute("data-status", "created")
    # The worker sends the SMS; the receipt follows by itself.
    message = wait_until(lambda: Message.objects.filter(to="+33612345678").first(), what="SMS")
    assert message_deliver(message_id=message.pk) == "sent"
    expect(row.locator(".sms-status")).to_have_text("SMS: sent")
    screenshot("pay-screen-link-sent")
    # "New sale" sits at the receipt's head, well apart from the panel's "Send the link".
    new_sale = page.get_by_role("button", name="New sale").bounding_box()
    send = receipt.get_by_role("button", name="Send the link").bounding_box()
    assert new_sale["y"] + new_sale["height"] + 100 < send["y"]
    assert page.evaluate("window.__noReload") is True
    assert PaymentLink.objects.get().amount == Decimal("39.80")
    backends.outbox.clear()
