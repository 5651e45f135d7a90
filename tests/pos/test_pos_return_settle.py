"""Settling returns at the till: the refund goes to the order's own payments by default
when they can take it back (an order paid by instalments too), in cash otherwise; the
returns recorded here and not settled are listed on the Returns screen and open again."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders.models import Order, Return
from orders.services.returns import return_create
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.links import payment_link_create, payment_link_pay
from payments.services.start import payment_start
from pos.web.returns import SESSION_LAST_RETURN
from tests.factories import LocationFactory, SalesChannelFactory
from tests.pos.conftest import HX, RETURNS, web_order_delivered

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def clean_simulated_gateway():
    """The simulated gateway answers a key it saw before with its first answer: start
    and leave it clean for the other modules."""
    simulated.reset()
    yield
    simulated.reset()


@pytest.fixture
def web_order(shop, camille, tee):
    return web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=6)


def bring_back(till, order, quantity: int, outcome: str = "refund") -> tuple[Return, str]:
    line = order.lines.get()
    response = till.post(
        RETURNS,
        {
            "order": order.reference,
            f"quantity-{line.pk}": str(quantity),
            f"reason-{line.pk}": "damaged",
            "restock": "here",
            "outcome": outcome,
        },
        **HX,
    )
    assert response.status_code == 200
    return Return.objects.filter(order=order).latest("id"), response.content.decode()


def radio(html: str, element_id: str) -> str:
    match = re.search(rf'<input type="radio"[^>]*id="{element_id}"[^>]*>', html)
    assert match, element_id
    return match.group(0)


def settle_form_key(html: str) -> str:
    form = html[html.index('id="settle-refund-form"') :]
    return re.search(r'name="key" value="([^"]+)"', form).group(1)


def test_the_original_payment_is_the_default_when_it_can_take_the_refund_back(till, web_order):
    payment_start(
        order=web_order,
        method="card_online",
        amount=order_outstanding_amount(web_order),
        token="sim_ok",
        idempotency_key="f-web-card",
    )

    _ret, receipt = bring_back(till, web_order, 1)

    assert "checked" in radio(receipt, "settle-original")
    assert "checked" not in radio(receipt, "settle-cash")
    assert 'id="settle-refund"' in receipt
    assert "Refund €19.90" in receipt


def test_cash_is_the_default_when_the_order_has_no_payment_to_give_back_to(till, web_order):
    _ret, receipt = bring_back(till, web_order, 1)  # a web order not paid yet

    assert "disabled" in radio(receipt, "settle-original")
    assert "checked" in radio(receipt, "settle-cash")
    assert "the order’s payments can give back €0.00 at most" in receipt


def test_an_order_paid_by_instalments_is_refunded_to_its_original_payments(till, shop, web_order):
    # 6 × 19.90 = 119.40 in 3 instalments of 39.80, the first charged.
    _link, token = payment_link_create(order=web_order, phone="+33612345678")
    payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="p")
    web_order.refresh_from_db()
    assert web_order.payment_status == Order.PaymentStatus.PAID
    ret, receipt = bring_back(till, web_order, 3)  # 59.70, more than the 39.80 charged
    assert "checked" in radio(receipt, "settle-original")
    assert "Instalments still to pay are lowered first" in receipt

    response = till.post(
        RETURNS,
        {"action": "settle", "return": ret.pk, "method": "", "key": settle_form_key(receipt)},
        **HX,
    )

    fragment = response.content.decode()
    assert response.status_code == 200, fragment
    assert "Settled: €59.70 taken off the instalments still to pay; nothing to refund." in fragment
    ret.refresh_from_db()
    assert ret.settlement == "settled"
    plan = InstalmentPlan.objects.get(payment__order=web_order)
    assert [(p.status, p.amount) for p in plan.parts.order_by("number")] == [
        ("paid", D("39.80")),
        ("scheduled", D("19.90")),
        ("cancelled", D("39.80")),
    ]
    assert not PaymentOperation.objects.filter(kind="refund").exists()
    assert Payment.objects.get(method="instalment").amount == D("59.70")


@pytest.fixture
def other_store(shop):
    channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    return LocationFactory(code="lyon", name="Lyon", kind="store", channels=[channel])


def test_the_returns_screen_lists_this_stores_returns_still_to_settle(
    till, shop, web_order, other_store
):
    waiting, _ = bring_back(till, web_order, 1)
    settled, _ = bring_back(till, web_order, 1, outcome="exchange")
    Return.objects.filter(pk=settled.pk).update(settlement="settled")
    elsewhere = return_create(
        order=web_order,
        channel=other_store.channels.get(),
        lines=[{"order_line": web_order.lines.get(), "quantity": 1, "reason": "damaged"}],
        receiving_location=other_store,
        outcome=Return.Outcome.REFUND,
    )

    page = till.get(RETURNS).content.decode()

    assert "Returns to settle" in page
    assert f'data-return="{waiting.pk}"' in page
    assert f'data-return="{settled.pk}"' not in page
    assert f'data-return="{elsewhere.pk}"' not in page
    assert f"?return={waiting.pk}" in page


def test_a_pending_return_opens_again_and_is_settled_from_there(till, web_order):
    payment_start(
        order=web_order,
        method="card_online",
        amount=order_outstanding_amount(web_order),
        token="sim_ok",
        idempotency_key="f-web-card-2",
    )
    ret, _ = bring_back(till, web_order, 1)
    till.get(RETURNS)  # another return started meanwhile: the receipt is gone
    session = till.session
    session.pop(SESSION_LAST_RETURN, None)
    session.save()

    opened = till.get(RETURNS, {"return": ret.pk}, **HX)

    fragment = opened.content.decode()
    assert opened.status_code == 200
    assert fragment.lstrip().startswith('<section id="return-order"')
    assert f"Return {ret} recorded for order {web_order.reference}" in fragment
    settled = till.post(
        RETURNS,
        {"action": "settle", "return": ret.pk, "method": "cash", "key": settle_form_key(fragment)},
        **HX,
    )
    assert "Settled: €19.90 refunded in cash." in settled.content.decode()
    ret.refresh_from_db()
    assert ret.settlement == "settled"
    # Settled: no longer listed, no longer opened for settling.
    assert f'data-return="{ret.pk}"' not in till.get(RETURNS).content.decode()
    assert till.get(RETURNS, {"return": ret.pk}, **HX).status_code == 404


def test_another_stores_return_or_a_bad_id_is_not_found(till, web_order, other_store):
    elsewhere = return_create(
        order=web_order,
        channel=other_store.channels.get(),
        lines=[{"order_line": web_order.lines.get(), "quantity": 1, "reason": "damaged"}],
        receiving_location=other_store,
        outcome=Return.Outcome.REFUND,
    )

    assert till.get(RETURNS, {"return": elsewhere.pk}, **HX).status_code == 404
    assert till.get(RETURNS, {"return": "١٢"}, **HX).status_code == 404
    assert till.get(RETURNS, {"return": "0"}).status_code == 404


def test_beyond_the_instalments_still_due_the_card_is_refunded_and_the_till_says_both(
    till, web_order
):
    _link, token = payment_link_create(order=web_order, phone="+33612345678")
    payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="p2")
    ret, receipt = bring_back(till, web_order, 5)  # 99.50: 79.60 still due, 19.90 charged

    response = till.post(
        RETURNS,
        {"action": "settle", "return": ret.pk, "method": "", "key": settle_form_key(receipt)},
        **HX,
    )

    assert (
        "Settled: €79.60 taken off the instalments still to pay, "
        "€19.90 refunded to the original payment." in response.content.decode()
    )
    (refund,) = PaymentOperation.objects.filter(kind="refund", status="succeeded")
    assert (refund.payment.method, refund.amount) == ("instalment", D("19.90"))
    web_order.refresh_from_db()
    assert web_order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
