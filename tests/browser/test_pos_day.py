"""A till's day in a real browser (issue 15): the seller opens the register with a float,
sells for cash, parks and recalls a sale, prints the receipt, drops cash to the bank, and
closes with a difference a manager approves; the Z report's sales equal the tickets'.
Screenshots of the receipt (print layout) and the Z report under test-artifacts/."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from pos.models import JournalRecord, RegisterSession, ZReport
from tests.factories import ProductFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.register_closed,
]


def sell_for_cash(page, variant, tendered: str) -> None:
    page.locator("#scan").fill(variant.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{variant.sku}"]')).to_be_visible()
    page.locator("#tendered").fill(tendered)
    page.get_by_role("button", name="Complete sale").click()
    expect(page.locator(".receipt")).to_contain_text("completed")


def test_a_whole_day_at_the_till(live_server, page, screenshot, shop, stocked_variant):
    tee = stocked_variant(
        store=10,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Tee"),
    )
    manager = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(manager)
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()

    page.get_by_role("link", name="The register").click()
    page.get_by_label("Cash in the drawer").fill("150")
    page.get_by_role("button", name="Open the register").click()
    expect(page.locator(".done")).to_contain_text("The register is open")
    page.get_by_role("link", name="Back to the sale").click()

    sell_for_cash(page, tee, "50")
    page.get_by_role("link", name="The receipt: print it or send it").click()
    expect(page.locator(".ticket")).to_contain_text("Ticket n°1")
    page.emulate_media(media="print")
    screenshot("day-1-receipt-print")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Back to the sale").click()
    page.get_by_role("button", name="New sale").click()
    expect(page.locator(".receipt")).to_have_count(0)

    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()
    page.get_by_role("button", name="Park the sale").click()
    expect(page.locator("#pos-message")).to_contain_text("Sale parked")
    page.locator(".parked-sales li").get_by_role("button", name="Recall").click()
    expect(page.locator("#pos-message")).to_contain_text("recalled")
    expect(page.locator(f'tr[data-sku="{tee.sku}"]')).to_be_visible()
    page.locator("#tendered").fill("20")
    page.get_by_role("button", name="Complete sale").click()
    expect(page.locator(".receipt")).to_contain_text("completed")

    page.get_by_role("link", name="The register").click()
    page.locator('select[name="kind"]').select_option("bank_drop")
    page.get_by_placeholder("Amount (negative: out)").fill("-100")
    page.get_by_placeholder("Reason").fill("Bank")
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".done")).to_contain_text("Cash move recorded")
    page.get_by_role("button", name="Start closing").click()
    # Expected cash: 150 + 39.80 − 100 = 89.80; counted 80.00: a 9.80 difference.
    page.get_by_label("Cash counted").fill("80")
    page.get_by_role("button", name="Close the register").click()
    expect(page.locator(".error")).to_contain_text("manager")
    page.get_by_label("Comment").fill("Note missing, checked twice")
    page.get_by_placeholder("Manager’s username").fill("manon")
    page.get_by_placeholder("Password").fill("secret-pass")
    page.get_by_role("button", name="Close the register").click()
    expect(page.locator(".done")).to_contain_text("The register is closed")
    expect(page.locator(".z-report")).to_contain_text("39.80")
    screenshot("day-2-z-report")

    session = RegisterSession.objects.get()
    assert session.status == "closed"
    tickets = sum(Order.objects.values_list("total_amount", flat=True), Decimal("0"))
    z = ZReport.objects.get(session=session).payload
    assert Decimal(z["sales_total"]) == tickets
    assert z["sellers"] == [{"seller": "seller", "tickets": 2, "total": "39.80"}]
    kinds = list(
        JournalRecord.objects.filter(chain__register=shop.register)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["event", "ticket", "ticket", "z_report", "event"]
