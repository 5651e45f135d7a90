"""The loyalty back office in a real browser at 1366×768: a promotion's preview shows
each targeted variant before and after, a customer's 360° page their points, store credit
and gift cards, the gift card list its balances. Screenshots under test-artifacts/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from loyalty.models import PointsProgramme, Promotion
from loyalty.services.gift_cards import gift_card_issue, gift_card_redeem
from loyalty.services.points import points_earn
from loyalty.services.store_credit import store_credit_add
from tests.browser.test_admin_screens import CLIPPED, log_in, manager  # noqa: F401
from tests.factories import CustomerFactory, ProductFactory, VariantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
D = Decimal


def test_promotion_preview_and_balances_read_well(live_server, page, screenshot, manager, shop):  # noqa: F811
    product = ProductFactory(name="Pull marin en laine")
    for size in ("S", "M", "L"):
        VariantFactory(product=product, sku=f"PULL-{size}", price_amount=D("79.90"))
    sale = Promotion.objects.create(
        name="Soldes laine −30 %", stage="catalogue", reward="percent", value=D("30")
    )
    sale.products.add(product)
    customer = CustomerFactory(first_name="Inès", last_name="Moreau")
    PointsProgramme.objects.create(name="Club", point_value=D("0.05"), expiry_days=365)
    points_earn(
        customer=customer,
        amount=D("248.00"),
        currency="EUR",
        channel_id=shop.web.pk,
        reference="UC00000001",
        idempotency_key="earn-b",
    )
    store_credit_add(customer=customer, amount=D("15.00"), currency="EUR", reason="refund")
    card = gift_card_issue(amount=D("50.00"), currency="EUR", purpose="multi", customer=customer)
    gift_card_redeem(card=card.card, amount=D("18.40"), reference="UC2", idempotency_key="r")
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/loyalty/promotion/{sale.pk}/preview/")
    expect(page.locator("body")).to_contain_text("PULL-M")
    expect(page.locator("body")).to_contain_text("€55.93")  # 79.90 − 30 %
    assert page.evaluate(CLIPPED) == []
    screenshot("admin-promotion-preview-1366")

    page.goto(f"{live_server.url}/admin/customers/customer/{customer.pk}/change/")
    panel = page.locator("#customer-360")
    expect(panel).to_contain_text("248 points")
    expect(panel).to_contain_text("€15.00")
    expect(panel).to_contain_text(f"…{card.card.last4}")
    expect(panel).to_contain_text("€31.60")
    screenshot("admin-customer-balances-1366")

    page.goto(f"{live_server.url}/admin/loyalty/giftcard/")
    expect(page.locator("#result_list")).to_contain_text("31.60")
    assert page.evaluate(CLIPPED) == []
    screenshot("admin-gift-cards-1366")
