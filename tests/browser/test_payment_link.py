"""The reference experience, end to end in two real browsers: at the till (Chromium,
browser 1) the seller sells a basket to be paid in store and sends the customer a payment
link by SMS; the SMS backend records the message with the link; the customer opens it on
their phone (browser 2: a mobile, iPhone-sized context), chooses 3 instalments and pays
with the simulated gateway; the till's panel follows every step live and shows the
order "Paid", without a reload.

The live server runs in a thread of this process, which does not run Celery: the SMS is
sent by running the messaging task's service here (``message_deliver``, what the worker
runs), through the in-memory SMS backend of the test settings."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.gateways import simulated
from payments.models import InstalmentPlan, PaymentLink
from tests.conftest import ARTIFACTS, wait_until
from tests.factories import CustomerFactory, ProductFactory
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_deliver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

IPHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    ),
    "locale": "en-GB",
}


@pytest.fixture(autouse=True)
def clean_outboxes():
    backends.outbox.clear()
    simulated.reset()
    yield
    backends.outbox.clear()
    simulated.reset()


def test_a_link_sent_from_the_till_is_paid_in_3_instalments_on_a_phone_and_the_till_sees_it(
    live_server, browser, page, screenshot, shop, stocked_variant, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
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
        attributes={"colour": "Red"},
    )
    CustomerFactory(first_name="Camille", last_name="Martin", phone="+33612345678")

    # Browser 1, the till: two tees and a scarf for Camille, placed to be paid in store.
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.evaluate("window.__noReload = true")
    for code in (tee.barcode, tee.barcode, scarf.barcode):
        page.locator("#scan").fill(code)
        page.keyboard.press("Enter")
        expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("#total")).to_have_text("€68.80")
    page.get_by_text("Name the customer").click()  # the form names the customer (issue 12)
    page.locator("#identify-phone").fill("06 12 34 56 78")
    page.get_by_role("button", name="Attach to the sale").click()
    expect(page.locator("#cart-owner")).to_contain_text("Camille Martin")
    page.get_by_role("button", name="Place the order, pay in store later").click()

    panel = page.locator("#payment-panel")
    expect(panel.locator("#amount-due")).to_have_text("€68.80")
    expect(panel.locator("#pay-phone")).to_have_value("06 12 34 56 78")
    expect(panel.locator("#pay-link-amount")).to_have_value("68.80")
    order = Order.objects.get()
    screenshot("payment-link-1-till-panel")

    # The seller sends the link, in English.
    panel.get_by_label("EN").check()
    panel.get_by_role("button", name="Send the link").click()
    expect(panel.locator("#pay-message")).to_contain_text(
        "Payment link for €68.80 sent by SMS to 06 12 34 56 78."
    )
    link_row = panel.locator(".links .link")
    expect(link_row).to_have_attribute("data-status", "created")
    expect(link_row.locator(".sms-status")).to_have_text("SMS: queued")

    # The worker's send: the SMS backend records the message with the link.
    message = wait_until(lambda: Message.objects.filter(to="+33612345678").first(), what="SMS")
    assert message_deliver(message_id=message.pk) == "sent"
    assert len(backends.outbox) == 1
    sms = backends.outbox[0]
    assert (sms.channel, sms.to, sms.kind) == ("sms", "+33612345678", "payment_link")
    url = re.search(rf"{re.escape(live_server.url)}/pay/[A-Za-z0-9_-]+/", sms.body).group(0)
    assert order.reference in sms.body
    assert "€68.80" in sms.body

    # The till sees it sent, by itself.
    expect(link_row).to_have_attribute("data-status", "sent")
    expect(link_row.locator(".sms-status")).to_have_text("SMS: sent")
    screenshot("payment-link-2-till-link-sent")

    # Browser 2, the customer's phone: opens the link from the SMS.
    phone_context = browser.new_context(**IPHONE)
    try:
        phone = phone_context.new_page()
        phone.set_default_timeout(10_000)
        phone.goto(url)
        expect(phone.locator("#amount")).to_have_text("€68.80")
        expect(phone.locator('label[data-choice="3x"]')).to_be_visible()
        phone.screenshot(path=str(ARTIFACTS / "payment-link-3-phone-choices.png"), full_page=True)

        # The till sees the link opened.
        expect(link_row).to_have_attribute("data-status", "opened")

        phone.locator('label[data-choice="3x"]').click()
        expect(phone.locator('label[data-choice="3x"] input')).to_be_checked()
        phone.get_by_role("button", name="Pay — card accepted").click()
        expect(phone.locator("#paid")).to_contain_text("Paid, thank you!")
        expect(phone.locator("#schedule li")).to_have_count(3)
        phone.screenshot(path=str(ARTIFACTS / "payment-link-4-phone-paid.png"), full_page=True)
    finally:
        phone_context.close()

    # Browser 1 shows the order paid, without a reload.
    expect(page.locator("#payment-panel .paid-title")).to_have_text("Paid")
    expect(page.locator("#payment-panel")).to_contain_text("to come in instalments")
    screenshot("payment-link-5-till-paid")
    assert page.evaluate("window.__noReload") is True

    link = PaymentLink.objects.get(order=order)
    assert link.status == PaymentLink.Status.PAID
    plan = InstalmentPlan.objects.get(payment=link.payment)
    assert plan.kind == "3x"
    parts = list(plan.parts.order_by("number").values_list("amount", "status"))
    assert sum(amount for amount, _ in parts) == Decimal("68.80")
    assert [status for _, status in parts] == ["paid", "scheduled", "scheduled"]
    assert len(backends.outbox) == 1  # one SMS, sent once


def test_split_tender_at_the_till_cash_then_card_with_an_error_on_the_way(
    live_server, page, screenshot, shop, stocked_variant
):
    scarf = stocked_variant(
        store=3,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    page.evaluate("window.__noReload = true")
    page.locator("#scan").fill(scarf.barcode)
    page.keyboard.press("Enter")
    expect(page.locator("#total")).to_have_text("€29.00")
    page.get_by_role("button", name="Place the order, pay in store later").click()
    panel = page.locator("#payment-panel")
    expect(panel.locator("#amount-due")).to_have_text("€29.00")

    # €10 in cash: the change preview says none, the rest stays due. (Typing before htmx
    # has wired the freshly swapped panel would be lost: wait for it, as a hand would.)
    page.wait_for_function(
        "() => document.getElementById('pay-tendered')?.['htmx-internal-data']?.initHash"
    )
    panel.locator("#pay-tendered").fill("10")
    expect(panel.locator("#pay-change")).to_contain_text("€0.00")
    panel.get_by_role("button", name="Take cash").click()
    expect(panel.locator("#pay-message")).to_have_text("Cash €10.00 recorded.")
    expect(panel.locator("#amount-due")).to_have_text("€19.00")

    # The seller types more than is due on the card: refused inline, the field in error.
    panel.locator("#pay-card-amount").fill("25")
    panel.get_by_role("button", name="Terminal approved").click()
    expect(panel.locator("#pay-message .error")).to_have_text(
        "€25.00 is more than the €19.00 still due on this order."
    )
    expect(panel.locator("#pay-card-amount")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#pay-card-amount")).to_be_focused()
    screenshot("split-tender-1-card-refused")

    panel.locator("#pay-card-amount").fill("19")
    panel.get_by_role("button", name="Terminal approved").click()
    expect(panel.locator(".paid-title")).to_have_text("Paid")
    expect(panel.locator('tr[data-method="cash"]')).to_contain_text("€10.00")
    expect(panel.locator('tr[data-method="card_terminal"]')).to_contain_text("€19.00")
    screenshot("split-tender-2-paid")
    assert page.evaluate("window.__noReload") is True
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert sorted(order.payments.values_list("method", "amount")) == [
        ("card_terminal", Decimal("19.00")),
        ("cash", Decimal("10.00")),
    ]
