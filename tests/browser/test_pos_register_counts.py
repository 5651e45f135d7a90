"""The register's counts in a real browser (issue 15): the opening count note by note
and coin by coin (its running total; letters are an inline error that opens nothing),
the difference to the last counted closing shown on its own, the register's tolerance,
and a blind count that never shows the expected figures. Screenshots under
test-artifacts/."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.models import RegisterSession, SessionCount

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.register_closed,
]


def test_the_denomination_grid_and_a_blind_count(live_server, page, screenshot, shop, settings):
    settings.POS_BLIND_COUNT_PER_REGISTER = {"paris-1": True}
    settings.POS_CLOSING_TOLERANCE_PER_REGISTER = {"paris-1": "2.00"}
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.get_by_role("link", name="The register").click()

    page.get_by_text("Count by note and coin").click()
    grid = page.locator(".denomination-grid")
    grid.locator('input[name="denom_50.00"]').fill("2")
    grid.locator('input[name="denom_0.20"]').fill("3")
    expect(grid.locator(".denomination-total")).to_have_text("100.60 EUR")
    grid.locator('input[name="denom_10.00"]').fill("x2")
    expect(grid.locator(".denomination-total")).to_have_text("—")
    page.get_by_role("button", name="Open the register").click()
    expect(page.locator(".error")).to_contain_text("how many notes or coins")
    expect(page.locator('input[name="denom_10.00"]')).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="denom_50.00"]')).to_have_value("2")
    screenshot("register-counts-1-letters-refused")
    assert not RegisterSession.objects.exists()

    page.locator('input[name="denom_10.00"]').fill("")
    expect(page.locator(".denomination-total")).to_have_text("100.60 EUR")
    screenshot("register-counts-2-grid")
    page.get_by_role("button", name="Open the register").click()
    expect(page.locator(".done")).to_contain_text("The register is open")
    expect(page.locator(".blind-count")).to_be_visible()
    expect(page.locator(".day-expected")).to_have_count(0)
    session = RegisterSession.objects.get()
    assert session.opening_counted_amount == Decimal("100.60")

    page.get_by_role("button", name="Start closing").click()
    expect(page.locator(".tolerance")).to_contain_text("2.00")
    expect(page.locator(".day-expected")).to_have_count(0)
    screenshot("register-counts-3-blind-close")
    page.get_by_label("Cash counted").fill("100.60")
    page.get_by_role("button", name="Close the register").click()
    expect(page.locator(".done")).to_contain_text("The register is closed")
    assert SessionCount.objects.get(tender="cash").blind is True

    expect(page.locator(".previous-closing")).to_have_count(0)  # blind: nothing to aim at
    page.get_by_label("Cash in the drawer").fill("98")
    page.get_by_role("button", name="Open the register").click()
    expect(page.locator(".opening-difference")).to_contain_text("-")
    expect(page.locator(".opening-difference")).to_contain_text("2.60")
    screenshot("register-counts-4-opening-difference")
