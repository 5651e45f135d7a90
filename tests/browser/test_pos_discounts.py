"""Issue 14 at the till, in a real browser: a seller scans a voucher and a gift card, pays
the rest in cash, and the receipt shows the discount under its line, the gift card with
what is left on it, the change and the VAT after the discount; then the same campaign's
code applied through the API on a web cart with the same lines gives the same prices."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from loyalty.models import GiftCard
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue
from orders.models import Order
from tests.api.conftest import client_with_key
from tests.factories import ProductFactory
from tests.loyalty.voucher_data import campaign, code
from unicommerce.channels.services import api_key_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CARD_CODE = "7K9M2P4Q8R3T6V5W"


def settled(page, action) -> None:
    """Run ``action`` and wait until htmx has settled the swap it causes."""
    page.evaluate(
        "window.__settled = false;"
        "document.body.addEventListener('htmx:afterSettle',"
        " () => { window.__settled = true; }, {once: true})"
    )
    action()
    page.wait_for_function("window.__settled === true")


def scan(page, text: str) -> None:
    page.locator("#scan").fill(text)
    settled(page, lambda: page.keyboard.press("Enter"))


def test_a_voucher_and_a_gift_card_at_the_till_then_the_same_prices_on_the_web(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5,
        warehouse=5,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    scarf = stocked_variant(
        store=2,
        warehouse=5,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )
    noel = campaign(name="Christmas ten", usage_limit=None)
    code(noel, "NOEL2345")
    code(noel, "NOEL6789")
    card = gift_card_issue(
        amount=Decimal("30.00"), currency="EUR", purpose=GiftCard.Purpose.MULTI, code=CARD_CODE
    ).card

    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()
    page.evaluate("window.__noReload = true")

    for barcode in (tee.barcode, tee.barcode, scarf.barcode):
        scan(page, barcode)
    expect(page.locator("#total")).to_have_text("€68.80")

    # The voucher goes on the cart, with its amount and a remove button; the discount is
    # under each line.
    scan(page, "noel-2345")
    expect(page.locator('#cart-codes li[data-code="NOEL2345"]')).to_contain_text("−€6.88")
    expect(page.locator("#discounts")).to_have_text("−€6.88")
    expect(page.locator("#total")).to_have_text("€61.92")
    expect(page.locator(f'tr[data-sku="{tee.sku}"] .line-discount')).to_contain_text(
        "Christmas ten"
    )
    screenshot("pos-discounts-1-voucher")

    # The gift card goes to the pay area (a tender, not a discount), with its balance.
    scan(page, CARD_CODE)
    expect(page.locator("#pos-message")).to_contain_text("€30.00 left")
    expect(page.locator("#pay-with-ledger")).to_be_checked()
    expect(page.locator(".gift-card-scanned")).to_contain_text("€30.00 left")
    expect(page.locator("#gift-card-amount")).to_have_value("30.00")
    expect(page.locator("table.cart tbody tr")).to_have_count(2)
    page.locator("#ledger-cash").fill("40")
    screenshot("pos-discounts-2-tenders")
    settled(page, lambda: page.locator("#pay-ledger").click())

    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("completed")
    expect(receipt.locator(f'li[data-sku="{tee.sku}"] .receipt-discount')).to_contain_text(
        "Christmas ten"
    )
    expect(receipt.locator(".paid-gift_card")).to_contain_text("€30.00")
    expect(receipt.locator(".paid-gift_card .card-left")).to_have_text("€0.00 left on the card")
    expect(receipt.locator(".paid-cash")).to_have_text("€31.92")
    expect(receipt.locator(".change-due")).to_have_text("€8.08")
    vat = receipt.locator('.receipt-vat tr[data-rate="20"]')
    expect(vat.locator(".net")).to_have_text("€51.60")
    expect(vat.locator(".vat")).to_have_text("€10.32")
    expect(vat.locator(".gross")).to_have_text("€61.92")
    screenshot("pos-discounts-3-receipt")
    assert page.evaluate("window.__noReload") is True

    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert order.total_amount == Decimal("61.92")
    assert gift_card_balance(card) == Decimal("0.00")

    # The same campaign's code on a web cart with the same lines: the same prices.
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    api = client_with_key(raw_key)
    token = api.post("/api/v1/carts/", {}, format="json").json()["token"]
    for variant, quantity in ((tee, 2), (scarf, 1)):
        added = api.post(
            f"/api/v1/carts/{token}/lines/",
            {"sku": variant.sku, "quantity": quantity},
            format="json",
        )
        assert added.status_code in (200, 201), added.json()
    body = api.post(f"/api/v1/carts/{token}/vouchers/", {"code": "NOEL6789"}, format="json")
    assert body.status_code == 200, body.json()
    web = body.json()
    assert (web["subtotal_amount"], web["discount_amount"], web["total_amount"]) == (
        "68.80",
        str(order.discount_amount),
        str(order.total_amount),
    )
    assert web["vat"] == [{"rate": "20.0", "net": "51.60", "vat": "10.32", "gross": "61.92"}]
    at_till = {
        line.sku: (str(line.discount_amount), str(line.total_amount), str(line.vat_amount))
        for line in order.lines.all()
    }
    on_web = {
        line["sku"]: (line["discount"], line["total"], line["vat_amount"]) for line in web["lines"]
    }
    assert on_web == at_till


def test_a_discount_above_the_sellers_cap_is_approved_by_a_manager_on_the_till(
    live_server, page, screenshot, shop, stocked_variant
):
    from tests.factories import UserFactory

    manager = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(manager)
    tee = stocked_variant(
        store=5, sku="TEE-NAVY-M", price_amount=Decimal("20.00"), product=ProductFactory()
    )
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    scan(page, tee.barcode)
    scan(page, tee.barcode)
    expect(page.locator("#total")).to_have_text("€40.00")

    row = page.locator(f'tr[data-sku="{tee.sku}"]')
    row.locator("summary.give-discount").click()
    form = row.locator(".discount-form")
    form.locator('input[name="value"]').fill("30")
    form.locator('input[name="reason"]').fill("Faded colour")
    settled(page, lambda: form.get_by_role("button", name="Give the discount").click())

    form = page.locator(f'tr[data-sku="{tee.sku}"] .discount-form')
    expect(form.locator(".error")).to_contain_text("above your limit of 10 %")
    expect(form.locator('input[name="reason"]')).to_have_value("Faded colour")
    form.locator('input[name="manager"]').fill("manon")
    form.locator('input[name="password"]').fill("secret-pass")
    screenshot("pos-discounts-4-approval")
    settled(page, lambda: form.get_by_role("button", name="Approve the discount").click())

    expect(page.locator("#pos-message")).to_contain_text("Discount given.")
    row = page.locator(f'tr[data-sku="{tee.sku}"]')
    expect(row.locator(".line-discount")).to_contain_text("Faded colour")
    expect(row.locator(".line-discount")).to_contain_text("−€12.00")
    expect(page.locator("#subtotal")).to_have_text("€40.00")
    expect(page.locator("#discounts")).to_have_text("−€12.00")
    expect(page.locator("#total")).to_have_text("€28.00")
    expect(page.locator('.totals dd.vat[data-rate="20"]')).to_have_text("€4.67")
    screenshot("pos-discounts-5-approved")
