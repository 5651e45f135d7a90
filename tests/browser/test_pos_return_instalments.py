"""A web order paid by instalments brought back to the store, in a real browser: the
refund to the original payments is the default choice, it lowers the instalments still
to pay; a return left unsettled is found again on the Returns screen and settled."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Return
from payments.gateways import simulated
from payments.models import InstalmentPlan, PaymentOperation
from payments.services.links import payment_link_create, payment_link_pay
from tests.factories import CustomerFactory, ProductFactory
from tests.pos.conftest import web_order_delivered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def clean_simulated_gateway():
    simulated.reset()
    yield
    simulated.reset()


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()


def test_an_instalment_order_is_refunded_to_its_original_payments(
    live_server, page, screenshot, shop, stocked_variant
):
    tee = stocked_variant(
        store=5,
        warehouse=10,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )
    camille = CustomerFactory(first_name="Camille", last_name="Martin", phone="+33612345678")
    order = web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=6)
    _link, token = payment_link_create(order=order, phone="+33612345678")
    payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="p")
    line = order.lines.get()

    log_in(page, live_server)
    page.get_by_role("link", name="Returns").click()
    page.locator("#order-ref").fill(order.reference)
    page.locator("#order-ref").press("Enter")
    page.locator(f"#quantity-{line.pk}").fill("3")
    page.locator(f"#reason-{line.pk}").select_option("damaged")
    # The outcome's radios are labelled: clicking the words chooses.
    page.get_by_text("Store credit", exact=True).click()
    expect(page.get_by_label("Store credit")).to_be_checked()
    page.get_by_text("Refund", exact=True).click()
    expect(page.get_by_label("Refund", exact=True)).to_be_checked()
    screenshot("return-instalments-1-form")
    page.get_by_role("button", name="Confirm the return").click()

    receipt = page.locator(".return-receipt")
    expect(receipt.locator(".amount")).to_have_text("€59.70")
    original = page.locator("#settle-original")
    expect(original).to_be_checked()  # the default: back to what the customer paid with
    expect(page.locator("#settle-cash")).not_to_be_checked()
    expect(receipt).to_contain_text("Instalments still to pay are lowered first")
    screenshot("return-instalments-2-receipt")
    page.get_by_role("button", name="Refund €59.70").click()

    expect(receipt.locator(".settled-message")).to_have_text(
        "Settled: €59.70 taken off the instalments still to pay; nothing to refund."
    )
    expect(receipt.locator(".settlement")).to_have_attribute("data-settlement", "settled")
    screenshot("return-instalments-3-settled")
    plan = InstalmentPlan.objects.get(payment__order=order)
    assert [(p.status, p.amount) for p in plan.parts.order_by("number")] == [
        ("paid", Decimal("39.80")),
        ("scheduled", Decimal("19.90")),
        ("cancelled", Decimal("39.80")),
    ]
    assert not PaymentOperation.objects.filter(kind="refund").exists()

    # Another item comes back, but the customer leaves before it is settled.
    page.get_by_role("link", name="Another return").click()
    page.locator("#order-ref").fill(order.reference)
    page.locator("#order-ref").press("Enter")
    page.locator(f"#quantity-{line.pk}").fill("1")
    page.get_by_role("button", name="Confirm the return").click()
    expect(page.locator(".return-receipt .amount")).to_have_text("€19.90")
    pending = Return.objects.get(settlement="pending")

    page.goto(f"{live_server.url}/pos/sell/")
    page.get_by_role("link", name="Returns").click()
    listed = page.locator(f'.pending-returns li[data-return="{pending.pk}"]')
    expect(listed).to_contain_text(order.reference)
    expect(listed).to_contain_text("€19.90")
    screenshot("return-instalments-4-to-settle")
    listed.get_by_role("link").click()
    expect(page.locator(".return-receipt h2")).to_contain_text(f"Return {pending}")
    expect(page.locator("#settle-original")).to_be_checked()
    page.get_by_role("button", name="Refund €19.90").click()
    expect(page.locator(".return-receipt .settlement")).to_have_attribute(
        "data-settlement", "settled"
    )
    pending.refresh_from_db()
    assert pending.settlement == "settled"
    assert [(p.status, p.amount) for p in plan.parts.order_by("number")][1] == (
        "cancelled",
        Decimal("19.90"),
    )
