"""Returns at the till: find the order (reference, or the customer's latest orders),
choose lines, quantities, reasons, where the goods go and the outcome, confirm. A web
order returned in the store restocks the store and is flagged cross-channel. The receipt
then settles it: refund in cash or to the original payment, store credit, exchange."""

from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from loyalty.services.store_credit import store_credit_balance
from orders.models import Order, OrderEvent, Return, ReturnLine
from orders.services.carts import cart_create, cart_line_add
from payments.models import Payment, PaymentOperation
from payments.registry import payments_strategies_register
from payments.selectors import order_outstanding_amount
from payments.services.start import payment_start
from pos.services import sale_complete
from tests.pos.conftest import HX, RETURNS, web_order_delivered

pytestmark = pytest.mark.django_db


def on_hand(variant, location) -> int:
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return level.on_hand if level else 0


@pytest.fixture
def web_order(shop, camille, tee):
    return web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=2)


def test_the_order_is_found_by_its_reference_with_what_can_come_back(till, web_order):
    response = till.get(RETURNS, {"order": web_order.reference.lower()}, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="return-order"')
    assert f"Order {web_order.reference}" in fragment
    assert "Placed on Web store" in fragment
    assert "Cross-channel return" in fragment
    assert 'data-sku="TEE-NAVY-M"' in fragment
    assert "max 2" in fragment


def test_the_full_page_without_htmx_shows_the_lookup_and_the_order(till, web_order):
    response = till.get(RETURNS, {"order": web_order.reference})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert 'id="order-ref"' in page
    assert f"Order {web_order.reference}" in page


def test_an_unknown_reference_gets_an_inline_error(till, shop):
    response = till.get(RETURNS, {"order": "UC99999999"}, **HX)

    assert response.status_code == 404
    assert "No order has the reference “UC99999999”." in response.content.decode()


def test_a_web_order_returned_here_restocks_this_store_and_is_cross_channel(
    till, shop, web_order, tee
):
    line = web_order.lines.get()
    warehouse_before = on_hand(tee, shop.warehouse)

    response = till.post(
        RETURNS,
        {
            "order": web_order.reference,
            f"quantity-{line.pk}": "1",
            f"reason-{line.pk}": "wrong_size",
            "restock": "here",
            "outcome": "store_credit",
            "note": "Too small",
        },
        **HX,
    )

    fragment = response.content.decode()
    assert response.status_code == 200
    ret = Return.objects.get()
    assert f"Return {ret} recorded for order {web_order.reference}" in fragment
    assert "Cross-channel: bought on Web store" in fragment
    assert "Store credit" in fragment
    assert "€19.90" in fragment
    assert "back to Paris" in fragment
    assert (ret.channel, ret.is_cross_channel, ret.outcome, ret.amount) == (
        shop.store_channel,
        True,
        "store_credit",
        Decimal("19.90"),
    )
    assert ret.created_by == shop.seller
    assert ret.note == "Too small"
    returned = ReturnLine.objects.get()
    assert (returned.quantity, returned.reason, returned.restock_location) == (
        1,
        "wrong_size",
        shop.store,
    )
    assert on_hand(tee, shop.store) == 5 + 1
    assert on_hand(tee, shop.warehouse) == warehouse_before
    movement = StockMovement.objects.get(reason="return")
    assert (movement.location, movement.quantity, movement.source_id) == (
        shop.store,
        1,
        str(ret.pk),
    )
    # The return is a credit note in the till's fiscal chain (a paid ticket is never changed).
    from pos.models import JournalRecord

    note = JournalRecord.objects.get(kind="credit_note")
    assert (note.chain.register_id, note.reference) == (shop.register.pk, web_order.reference)
    assert (note.payload["total"], note.payload["return"]) == ("19.90", ret.pk)


def test_goods_can_go_to_quarantine(till, shop, quarantine, web_order, tee):
    line = web_order.lines.get()

    response = till.post(
        RETURNS,
        {
            "order": web_order.reference,
            f"quantity-{line.pk}": "2",
            f"reason-{line.pk}": "damaged",
            "restock": "quarantine",
            "outcome": "refund",
        },
        **HX,
    )

    assert response.status_code == 200
    assert "back to Quarantine" in response.content.decode()
    assert ReturnLine.objects.get().restock_location == quarantine
    assert on_hand(tee, quarantine) == 2
    assert on_hand(tee, shop.store) == 5


def test_returning_more_than_bought_is_refused_and_changes_nothing(till, shop, web_order, tee):
    line = web_order.lines.get()

    response = till.post(
        RETURNS,
        {
            "order": web_order.reference,
            f"quantity-{line.pk}": "3",
            f"reason-{line.pk}": "changed_mind",
            "restock": "here",
            "outcome": "refund",
        },
        **HX,
    )

    text = response.content.decode()
    assert response.status_code == 422
    assert "More is being returned than was bought" in text
    assert "TEE-NAVY-M: 3 asked, 2 bought, 0 already returned, 2 can come back." in text
    assert 'value="3"' in text  # what the seller typed is kept
    assert '<option value="changed_mind" selected>' in text
    assert not Return.objects.exists()
    assert on_hand(tee, shop.store) == 5


def test_an_item_already_returned_cannot_come_back_twice(till, shop, web_order, tee):
    line = web_order.lines.get()
    form = {
        "order": web_order.reference,
        f"quantity-{line.pk}": "2",
        f"reason-{line.pk}": "changed_mind",
        "restock": "here",
        "outcome": "refund",
    }
    assert till.post(RETURNS, form, **HX).status_code == 200

    again = till.post(RETURNS, form, **HX)

    assert again.status_code == 422
    assert "2 already returned, 0 can come back." in again.content.decode()
    assert Return.objects.count() == 1
    assert on_hand(tee, shop.store) == 5 + 2
    page = till.get(RETURNS, {"order": web_order.reference}, **HX).content.decode()
    assert "max 0" in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({}, "Type how many of each item come back."),
        ({"quantity": "x"}, "Quantity must be a whole number"),
        ({"quantity": "1", "reason": "bored"}, "Choose the reason for TEE-NAVY-M."),
        ({"quantity": "1", "outcome": "cash_back"}, "Choose where the goods go and the outcome."),
    ],
)
def test_incomplete_returns_are_refused_inline(till, shop, web_order, typed, message):
    line = web_order.lines.get()
    form = {"order": web_order.reference, "restock": "here", "outcome": "refund"}
    form[f"reason-{line.pk}"] = typed.get("reason", "damaged")
    if "quantity" in typed:
        form[f"quantity-{line.pk}"] = typed["quantity"]
    if "outcome" in typed:
        form["outcome"] = typed["outcome"]

    response = till.post(RETURNS, form, **HX)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Return.objects.exists()


def test_a_till_sale_returned_in_the_same_store_is_not_cross_channel(till, shop, tee):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    sale = sale_complete(
        payment_method="cash",
        register=shop.register,
        cart=cart,
        tendered=Decimal("20"),
        seller=shop.seller,
    )
    line = sale.order.lines.get()

    response = till.post(
        RETURNS,
        {
            "order": sale.order.reference,
            f"quantity-{line.pk}": "1",
            f"reason-{line.pk}": "damaged",
            "restock": "here",
            "outcome": "exchange",
        },
        **HX,
    )

    assert response.status_code == 200
    assert "Cross-channel" not in response.content.decode()
    assert Return.objects.get().is_cross_channel is False


def test_without_htmx_a_return_redirects_to_its_receipt(till, web_order):
    line = web_order.lines.get()

    response = till.post(
        RETURNS,
        {
            "order": web_order.reference,
            f"quantity-{line.pk}": "1",
            f"reason-{line.pk}": "late",
            "restock": "here",
            "outcome": "refund",
        },
    )

    assert response.status_code == 302
    receipt = till.get(response["Location"]).content.decode()
    assert f"Return {Return.objects.get()} recorded for order {web_order.reference}" in receipt


def test_orders_not_handed_over_cannot_come_back(till, shop, camille, tee):
    from orders.models import Fulfilment
    from orders.services.checkout import order_checkout
    from orders.services.checkout_plan import LineChoice

    cart = cart_create(channel=shop.web, customer=camille)
    cart_line_add(cart=cart, variant=tee, channel=shop.web)
    order = order_checkout(
        cart=cart,
        channel=shop.web,
        payment_method="pay_later",
        default_choice=LineChoice(Fulfilment.COLLECT, shop.store),
    )
    assert order.status == Order.Status.PLACED

    page = till.get(RETURNS, {"order": order.reference}, **HX).content.decode()

    assert "max 0" in page
    assert f'name="quantity-{order.lines.get().pk}"' in page
    assert "disabled" in page


# --- Settling the return from its receipt


@pytest.fixture
def card_paid_web_order(web_order):
    """The delivered web order, paid online by card."""
    payment_start(
        order=web_order,
        method="card_online",
        amount=order_outstanding_amount(web_order),
        token="sim_ok",
        idempotency_key="web-card",
    )
    web_order.refresh_from_db()
    assert web_order.payment_status == Order.PaymentStatus.PAID
    return web_order


def bring_back(till, order, outcome: str, quantity: int = 1) -> tuple[Return, str]:
    line = order.lines.get()
    response = till.post(
        RETURNS,
        {
            "order": order.reference,
            f"quantity-{line.pk}": str(quantity),
            f"reason-{line.pk}": "wrong_size",
            "restock": "here",
            "outcome": outcome,
        },
        **HX,
    )
    assert response.status_code == 200
    return Return.objects.get(order=order), response.content.decode()


def settle(till, ret: Return, *, key: str, method: str = ""):
    return till.post(
        RETURNS, {"action": "settle", "return": ret.pk, "method": method, "key": key}, **HX
    )


def refunds(order) -> list[PaymentOperation]:
    return list(
        PaymentOperation.objects.filter(
            payment__order=order, kind="refund", status="succeeded"
        ).select_related("payment")
    )


def test_a_card_paid_web_order_returned_here_is_refunded_in_cash_at_the_till(
    till, card_paid_web_order
):
    order = card_paid_web_order
    ret, receipt = bring_back(till, order, "refund")
    assert "Refund in cash now" in receipt
    assert "Refund to the original payment" in receipt
    assert ret.settlement == "pending"

    response = settle(till, ret, key="till-cash-0001", method="cash")

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="return-order"')
    assert "Settled: €19.90 refunded in cash." in fragment
    assert 'data-settlement="settled"' in fragment
    assert "Refund in cash now" not in fragment
    ret.refresh_from_db()
    assert ret.settlement == "settled"
    (refund,) = refunds(order)
    assert (refund.payment.method, refund.amount) == ("cash", Decimal("19.90"))
    card = Payment.objects.get(order=order, method="card_online")
    assert card.status == Payment.Status.CAPTURED  # the card is untouched
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED


def test_a_refund_to_the_original_payment_refunds_the_card(till, card_paid_web_order):
    order = card_paid_web_order
    ret, _ = bring_back(till, order, "refund", quantity=2)

    response = settle(till, ret, key="till-back-0001")

    assert response.status_code == 200
    assert "Settled: €39.80 refunded to the original payment." in response.content.decode()
    (refund,) = refunds(order)
    assert (refund.payment.method, refund.amount) == ("card_online", Decimal("39.80"))
    order.refresh_from_db()
    assert order.payment_status in (
        Order.PaymentStatus.REFUNDED,
        Order.PaymentStatus.PARTIALLY_REFUNDED,
    )


def test_a_store_credit_return_credits_the_customer(till, card_paid_web_order, camille):
    payments_strategies_register()  # the start-up wiring (other suites may swap the seam)
    ret, receipt = bring_back(till, card_paid_web_order, "store_credit")
    assert "Credit the customer" in receipt

    response = settle(till, ret, key="till-credit-01")

    assert response.status_code == 200
    assert "Settled: €19.90 credited to the customer’s store credit." in (response.content.decode())
    assert store_credit_balance(customer=camille, currency="EUR") == Decimal("19.90")
    ret.refresh_from_db()
    assert ret.settlement == "settled"


def test_store_credit_without_a_customer_is_explained_not_offered(till, shop, tee):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    sale = sale_complete(
        payment_method="cash",
        register=shop.register,
        cart=cart,
        tendered=Decimal("20"),
        seller=shop.seller,
    )

    ret, receipt = bring_back(till, sale.order, "store_credit")

    assert "Credit the customer" not in receipt
    assert "this order has none" in receipt
    refused = settle(till, ret, key="till-credit-02")  # posted anyway: refused inline
    assert refused.status_code == 422
    assert 'role="alert"' in refused.content.decode()
    ret.refresh_from_db()
    assert ret.settlement == "pending"


def test_an_exchange_is_marked_settled_and_moves_no_money(till, shop, tee):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    sale = sale_complete(
        payment_method="cash",
        register=shop.register,
        cart=cart,
        tendered=Decimal("20"),
        seller=shop.seller,
    )
    ret, receipt = bring_back(till, sale.order, "exchange")
    assert "Mark settled (exchange)" in receipt

    response = settle(till, ret, key="till-exch-0001")

    assert response.status_code == 200
    assert "Settled as an exchange: no money moved." in response.content.decode()
    assert refunds(sale.order) == []
    ret.refresh_from_db()
    assert ret.settlement == "settled"


def test_a_double_click_with_the_same_key_settles_once(till, card_paid_web_order):
    order = card_paid_web_order
    ret, _ = bring_back(till, order, "refund")

    first = settle(till, ret, key="till-cash-0002", method="cash")
    second = settle(till, ret, key="till-cash-0002", method="cash")

    assert (first.status_code, second.status_code) == (200, 200)
    assert "Settled: €19.90 refunded in cash." in second.content.decode()
    assert len(refunds(order)) == 1
    assert OrderEvent.objects.filter(order=order, kind="return_settled").count() == 1


def test_settling_an_already_settled_return_is_refused_inline(till, card_paid_web_order):
    order = card_paid_web_order
    ret, _ = bring_back(till, order, "refund")
    assert settle(till, ret, key="till-cash-0003", method="cash").status_code == 200

    again = settle(till, ret, key="till-back-0003")

    text = again.content.decode()
    assert again.status_code == 422
    assert f"Return {ret} is already settled." in text
    assert 'role="alert"' in text
    assert "Refund to the original payment" not in text
    assert len(refunds(order)) == 1
    assert not PaymentOperation.objects.filter(
        payment__method="card_online", kind="refund"
    ).exists()


def test_a_form_without_its_key_settles_nothing(till, card_paid_web_order):
    ret, _ = bring_back(till, card_paid_web_order, "refund")

    response = settle(till, ret, key="", method="cash")

    assert response.status_code == 422
    assert "This form has expired" in response.content.decode()
    ret.refresh_from_db()
    assert ret.settlement == "pending"
    assert refunds(card_paid_web_order) == []


def test_without_htmx_settling_redirects_to_the_receipt_with_the_outcome(till, card_paid_web_order):
    ret, _ = bring_back(till, card_paid_web_order, "refund")

    response = till.post(
        RETURNS, {"action": "settle", "return": ret.pk, "method": "cash", "key": "till-cash-0004"}
    )

    assert response.status_code == 302
    receipt = till.get(response["Location"]).content.decode()
    assert "Settled: €19.90 refunded in cash." in receipt
    assert 'data-settlement="settled"' in receipt
