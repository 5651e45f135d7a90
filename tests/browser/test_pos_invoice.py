"""The papers of a sale in a real browser (issue 15): from the receipt of a paid sale the
seller issues an invoice to a company (a wrong SIRET is said inline first), downloads it
as a PDF, then cancels the sale with a manager's password: the receipt says it is
cancelled, its credit note written. Screenshots (the invoice on screen and in its A4
print layout, the cancelled receipt) under test-artifacts/."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order, Return
from pos.models import Invoice, JournalRecord, StoreIdentity
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_invoice_then_the_sale_cancelled(
    live_server, browser, page, screenshot, shop, stocked_variant
):
    StoreIdentity.objects.create(
        location=shop.store,
        legal_name="Maison Durand SAS",
        address="12 rue de Rivoli",
        postal_code="75001",
        city="Paris",
        siret="44306184100047",
        vat_number="FR64443061841",
    )
    tee = stocked_variant(
        store=5, sku="TEE-NAVY-M", price_amount=Decimal("19.90"), product=ProductFactory(name="Tee")
    )
    manager = UserFactory(username="manon", role="store_manager", is_staff=True)
    shop.store.staff.add(manager)
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()
    page.locator("#tendered").fill("20")
    page.get_by_role("button", name="Complete sale").click()
    expect(page.locator(".receipt")).to_contain_text("completed")
    page.get_by_role("link", name="The receipt: print it or send it").click()

    page.get_by_role("link", name="Issue an invoice").click()
    page.get_by_label("Company name").fill("Atelier Lumière SARL")
    page.get_by_label("Billing address").fill("8 quai des Célestins\n69002 Lyon")
    page.get_by_label("SIRET (optional)").fill("732 829 320 00075")
    page.get_by_label("VAT number (optional)").fill("FR44732829320")
    page.get_by_role("button", name="Issue the invoice").click()
    expect(page.locator(".invoice-form")).to_contain_text("check digit is wrong")
    screenshot("invoice-1-wrong-siret")
    page.get_by_label("SIRET (optional)").fill("732 829 320 00074")
    page.get_by_role("button", name="Issue the invoice").click()
    sheet = page.locator(".invoice-sheet")
    expect(sheet).to_contain_text("Invoice F-PARIS-000001")
    expect(sheet).to_contain_text("Atelier Lumière SARL")
    expect(sheet).to_contain_text("acquittée")
    screenshot("invoice-2-issued")
    with page.expect_download() as download:
        page.get_by_role("button", name="PDF").click()
    assert download.value.suggested_filename == "invoice-F-PARIS-000001.pdf"
    page.emulate_media(media="print")
    screenshot("invoice-3-print")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Back to the receipt").click()
    expect(page.get_by_role("link", name="Invoice F-PARIS-000001")).to_be_visible()
    page.locator(".cancel-sale summary").click()
    page.get_by_label("Reason").fill("Wrong size, customer left")
    page.get_by_label("Manager").fill("manon")
    page.get_by_label("Password", exact=True).fill("wrong-pass")
    screenshot("invoice-4-cancel-form")
    page.get_by_role("button", name="Cancel the sale").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    page.get_by_label("Password", exact=True).fill("secret-pass")
    page.get_by_role("button", name="Cancel the sale").click()
    expect(page.locator(".receipt-page")).to_contain_text("The sale is cancelled")
    expect(page.locator(".cancelled")).to_contain_text("credit note n°1")
    screenshot("invoice-5-sale-cancelled")

    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert Return.objects.get(order=order).settlement == "settled"
    assert Invoice.objects.count() == 1
    credit = JournalRecord.objects.get(kind="credit_note")
    assert credit.payload["invoice"]["number"] == 1

    # The order's papers in the admin, for the store's manager.
    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    back_office = admin.new_page()
    back_office.goto(f"{live_server.url}/admin/login/")
    back_office.locator("#id_username").fill("manon")
    back_office.locator("#id_password").fill("secret-pass")
    back_office.locator("input[type=submit]").click()
    back_office.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    back_office.get_by_role("link", name="Receipt and invoice").click()
    expect(back_office.locator(".ticket")).to_contain_text("Ticket n°1")
    expect(back_office.locator(".invoice-sheet")).to_contain_text("Credit note n°1")
    back_office.screenshot(path=str(screenshot("invoice-6-admin-papers")), full_page=True)
    admin.close()
