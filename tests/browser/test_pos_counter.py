"""The counter queue in a real browser: from the sale screen's header, the seller finds a
click & collect order, marks it ready (the customer is sent the pickup code), and hands
it over against that code; a wrong code is refused inline and changes nothing."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Fulfilment, Shipment
from tests.factories import ProductFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_click_and_collect_order_is_readied_and_handed_over_at_the_counter(
    live_server, page, screenshot, shop, stocked_variant, make_order
):
    scarf = stocked_variant(
        store=3,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Scarf"),
    )
    order = make_order(lines=[(scarf, 1, Fulfilment.COLLECT, shop.store)], phone="+33612345678")
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()

    page.get_by_role("link", name="Counter orders").click()
    card = page.locator(f'.counter-order[data-order="{order.reference}"]')
    expect(card).to_contain_text("1 × Scarf")
    screenshot("counter-1-queue")
    card.get_by_role("button", name="Ready for pickup").click()
    expect(page.locator(".done")).to_contain_text("pickup code")
    code = Shipment.objects.get(order=order).pickup_code

    card = page.locator(f'.counter-order[data-order="{order.reference}"]')
    card.get_by_label("Pickup code").fill("999999" if code != "999999" else "111111")
    card.get_by_role("button", name="Hand over").click()
    expect(page.locator(f'.counter-order[data-order="{order.reference}"] .error')).to_contain_text(
        "not the pickup code"
    )
    screenshot("counter-2-wrong-code")
    card = page.locator(f'.counter-order[data-order="{order.reference}"]')
    card.get_by_label("Pickup code").fill(code)
    card.get_by_role("button", name="Hand over").click()
    expect(page.locator(".done")).to_contain_text("collected")
    expect(page.locator(".counter-orders")).to_contain_text("Nothing is waiting")
    assert Shipment.objects.get(order=order).status == Shipment.Status.COLLECTED
    screenshot("counter-3-handed-over")
