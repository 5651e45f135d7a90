"""The back-office in a real browser at 1366×768 (issue 12): the order list fits beside
its filters (no column cut off, the reference and customer on one line), the order page
shows the postal address and the timeline in words, the EN/FR switch works, the icon is
linked; the till's "ship home" choice is never cut off. Screenshots under test-artifacts/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orders.models import Fulfilment, Order, OrderEvent
from orders.states import order_payment_status_set
from tests.factories import CustomerFactory, ProductFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

ADDRESS = {
    "first_name": "Élodie",
    "last_name": "Fournier-Lambert",
    "line1": "12 rue des Petites-Écuries",
    "line2": "Bâtiment B, 3e étage",
    "postal_code": "75010",
    "city": "Paris",
    "country": "FR",
    "phone": "+33612345678",
}

# Columns wider than their box, anywhere on the page (a table cut off or scrolling).
CLIPPED = """() => [...document.querySelectorAll('.results, .wrapper, #content-main')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.closest('[id]') || {}).id + ' ' + e.scrollWidth + '>' + e.clientWidth)"""


@pytest.fixture
def orders(shop, stocked_variant, make_order):
    lines = [
        stocked_variant(
            warehouse=20,
            sku=f"TS00{n}-NAV-XL",
            price_amount=Decimal("49.80"),
            product=ProductFactory(name=f"T-shirt Coastal {n}"),
        )
        for n in range(3)
    ]
    made = []
    for n in range(8):
        customer = CustomerFactory(first_name="Amélie", last_name=f"Lefèvre-Marchand {n}")
        order = make_order(
            lines=[(variant, 1, Fulfilment.SHIP, shop.warehouse) for variant in lines],
            customer=customer,
        )
        Order.objects.filter(pk=order.pk).update(
            shipping_address=ADDRESS, payment_method="pay_in_store"
        )
        made.append(order)
    order_payment_status_set(order=made[0], status=Order.PaymentStatus.PAID)
    OrderEvent.objects.create(
        order=made[0], kind="status", from_status="processing", to_status="partially_fulfilled"
    )
    return made


@pytest.fixture
def manager(db):
    return get_user_model().objects.create_superuser("claire", "c@example.com", "pw-claire-1")


def log_in(page, live_server, language: str = "en") -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill("claire")
    page.locator("#id_password").fill("pw-claire-1")
    page.locator("input[type=submit]").click()
    expect(page.locator("#language-switch")).to_be_visible()


def test_the_order_list_fits_at_1366_and_the_order_page_reads_well(
    live_server, page, screenshot, orders, manager
):
    paid = orders[0]
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#changelist-filter")).to_contain_text("By payment")
    assert page.evaluate(CLIPPED) == []
    row = page.locator(f'tr:has(a:text-is("{paid.reference}"))')
    expect(row.locator("td.field-payment_status")).to_have_text("paid")
    expect(row.locator("td.field-total_shown")).to_have_text("€149.40")
    # The reference never wraps; the whole table is inside the viewport's width.
    reference = row.locator("th.field-order_reference a").bounding_box()
    assert reference["height"] < 24
    table = page.locator("#result_list").bounding_box()
    assert table["x"] + table["width"] <= 1366
    screenshot("admin-order-list-1366")

    page.locator(f'a:text-is("{paid.reference}")').click()
    address = page.locator("address.postal-address")
    expect(address).to_have_text(
        "Élodie Fournier-Lambert12 rue des Petites-ÉcuriesBâtiment B, 3e étage"
        "75010 ParisFrance06 12 34 56 78"
    )
    expect(page.locator("td.field-what")).to_contain_text(
        ["Placed", "Payment: Unpaid → Paid", "Status: Processing → Partially fulfilled"]
    )
    expect(page.locator(".field-payment_method_shown .readonly")).to_have_text("Pay in store")
    expect(page.locator("#lines-group h2")).to_have_text("Order lines")
    assert page.evaluate(CLIPPED) == []
    screenshot("admin-order-page-1366")


def test_the_language_switch_turns_the_order_page_french(
    live_server, page, screenshot, orders, manager
):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/orders/order/{orders[0].pk}/change/")

    page.locator('#language-switch button[value="fr"]').click()

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#changelist-filter, .field-payment_status label").first).to_contain_text(
        "Paiement"
    )
    expect(page.locator("address.postal-address")).to_contain_text("France")
    expect(page.locator(".field-payment_method_shown .readonly")).to_have_text("Payer en magasin")
    expect(page.locator('#language-switch button[value="fr"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    icon = page.locator('link[rel="icon"][type="image/svg+xml"]')
    assert page.request.get(live_server.url + icon.get_attribute("href")).ok
    screenshot("admin-order-page-fr-1366")

    page.locator('#logout-form button[type="submit"]').click()
    expect(page).to_have_url(f"{live_server.url}/admin/login/")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_list_of_the_back_office_is_cut_off_at_1366(
    live_server, page, orders, manager, language
):
    """Every list beside its filters and the menu: no table wider than its box."""
    from django.contrib import admin
    from django.urls import reverse

    log_in(page, live_server, language)
    clipped = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page.goto(live_server.url + url)
        found = page.evaluate(CLIPPED)
        if found:
            clipped[url] = found

    assert clipped == {}
