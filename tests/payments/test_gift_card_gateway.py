"""Paying with a gift card (payments.gateways.gift_card): the token is the card's code,
a charge redeems from the card once whatever the retries, the code is not kept once the
card has answered, a refund goes back to the card that paid, and a gift card never pays
for a gift card."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.exceptions import GiftCardRefundExceedsRedeemed
from loyalty.models import GiftCardEntry
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue, gift_card_redeem
from orders.models import Fulfilment, Order, OrderLine
from payments.exceptions import AmountExceeds, PaymentDeclined
from payments.gateways import gateway_get
from payments.models import Payment, PaymentOperation
from payments.registry import payments_strategies_register
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_methods, refund_to_method
from payments.services.start import payment_start
from tests.factories import VariantFactory

D = Decimal
PS = Order.PaymentStatus


@pytest.fixture(autouse=True)
def wired():
    """The start-up wiring (re-applied: other suites swap gateways)."""
    payments_strategies_register()


def placed(shop, total: str, *, gift_card_line: str = "") -> Order:
    order = Order.objects.create(
        channel=shop.web,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=D(total),
    )
    if gift_card_line:
        line_add(order, shop, total, gift_card=gift_card_line)
    return order


def line_add(order: Order, shop, total: str, *, gift_card: str = "", quantity: int = 1):
    variant = VariantFactory(product__gift_card=gift_card, price_amount=D(total) / quantity)
    return OrderLine.objects.create(
        order=order,
        variant=variant,
        sku=variant.sku,
        name=variant.product.name,
        quantity=quantity,
        unit_price_amount=D(total) / quantity,
        vat_rate=D("0") if gift_card else D("20"),
        total_amount=D(total),
        fulfilment=Fulfilment.SHIP,
        location=shop.warehouse,
    )


def card_of(amount: str = "50.00"):
    return gift_card_issue(amount=D(amount), currency="EUR", purpose="multi")


def test_paying_with_a_gift_card_redeems_it_and_forgets_the_code(shop):
    issued = card_of("50.00")
    order = placed(shop, "80.00")

    payment = payment_start(
        order=order, method="gift_card", amount=D("30"), token=issued.display, idempotency_key="g"
    )

    entry = GiftCardEntry.objects.get(kind="redeem")
    assert (payment.status, payment.gateway, payment.captured_amount) == (
        "captured",
        "gift_card",
        D("30.00"),
    )
    assert payment.provider_reference == f"gc_{entry.pk}"
    assert payment.card_last4 == issued.card.last4
    assert payment.provider_token == ""  # the bearer code is kept nowhere
    assert (entry.amount, entry.reference) == (D("-30.00"), order.reference)
    assert gift_card_balance(issued.card) == D("20.00")
    order.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_PAID


def test_the_same_charge_sent_again_redeems_once(shop):
    issued = card_of("50.00")
    order = placed(shop, "80.00")
    first = payment_start(
        order=order, method="gift_card", amount=D("30"), token=issued.code, idempotency_key="g"
    )

    again = payment_start(
        order=order, method="gift_card", amount=D("30"), token=issued.code, idempotency_key="g"
    )
    # The gateway itself, replayed with the operation's key after a crash (the token is
    # blank by then): it answers the row it wrote.
    replay = gateway_get("gift_card").charge(
        amount=D("30"),
        currency="EUR",
        token="",
        capture=True,
        idempotency_key="g",
        metadata={"payment_id": str(first.pk)},
    )

    assert again.pk == first.pk
    assert replay.reference == first.provider_reference
    assert GiftCardEntry.objects.filter(kind="redeem").count() == 1
    assert gift_card_balance(issued.card) == D("20.00")


@pytest.mark.parametrize(
    ("token", "amount", "code"),
    [
        ("ABCD-EFGH-JKMN-PQRS", "10", "gift_card_invalid"),
        ("nope", "10", "gift_card_invalid"),
        (None, "50.01", "gift_card_insufficient"),
    ],
)
def test_a_wrong_code_or_too_much_is_declined_and_nothing_is_taken(shop, token, amount, code):
    issued = card_of("50.00")
    order = placed(shop, "80.00")

    with pytest.raises(PaymentDeclined) as declined:
        payment_start(
            order=order,
            method="gift_card",
            amount=D(amount),
            token=token or issued.code,
            idempotency_key="g",
        )

    assert declined.value.decline_code == code
    payment = Payment.objects.get()
    assert (payment.status, payment.provider_token) == ("failed", "")
    assert gift_card_balance(issued.card) == D("50.00")
    order.refresh_from_db()
    assert order.payment_status == PS.UNPAID


def test_a_gift_card_cannot_pay_for_a_gift_card(shop):
    issued = card_of("50.00")
    order = placed(shop, "40.00", gift_card_line="multi")

    with pytest.raises(PaymentDeclined) as declined:
        payment_start(
            order=order, method="gift_card", amount=D("40"), token=issued.code, idempotency_key="g"
        )

    assert declined.value.decline_code == "gift_card_for_gift_card"
    assert order.reference in declined.value.message
    assert gift_card_balance(issued.card) == D("50.00")
    assert not GiftCardEntry.objects.filter(kind="redeem").exists()


def test_a_refund_goes_back_to_the_card_once_and_never_above_what_it_paid(shop):
    issued = card_of("50.00")
    order = placed(shop, "80.00")
    payment = payment_start(
        order=order, method="gift_card", amount=D("30"), token=issued.code, idempotency_key="g"
    )

    op = payment_refund(payment=payment, amount=D("10"), idempotency_key="r1")
    again = payment_refund(payment=payment, amount=D("10"), idempotency_key="r1")

    assert (op.status, again.pk) == ("succeeded", op.pk)
    assert list(issued.card.entries.filter(kind="refund").values_list("amount", "reference")) == [
        (D("10.00"), order.reference)
    ]
    assert gift_card_balance(issued.card) == D("30.00")
    with pytest.raises(AmountExceeds):
        payment_refund(payment=payment, amount=D("20.01"), idempotency_key="r2")
    assert gift_card_balance(issued.card) == D("30.00")


def test_a_refund_to_gift_card_goes_back_to_the_cards_that_paid_the_order(shop):
    first, second = card_of("20.00"), card_of("50.00")
    order = placed(shop, "60.00")
    payment_start(
        order=order, method="gift_card", amount=D("20"), token=first.code, idempotency_key="a"
    )
    payment_start(
        order=order, method="gift_card", amount=D("40"), token=second.code, idempotency_key="b"
    )
    assert "gift_card" in refund_methods()

    op = refund_to_method(
        order=order, amount=D("45"), method="gift_card", user=shop.seller, idempotency_key="r"
    )

    assert op.status == "succeeded"
    assert gift_card_balance(second.card) == D("50.00")  # the last used first: 40 back
    assert gift_card_balance(first.card) == D("5.00")  # then 5 of its 20
    assert op.provider_reference.startswith("gc_")


def test_a_refund_to_gift_card_of_an_order_no_card_paid_is_refused_and_nothing_moves(shop):
    order = placed(shop, "50.00")
    payment_start(order=order, method="cash", amount=D("50"), idempotency_key="c")
    other = card_of("50.00")
    gift_card_redeem(card=other.card, amount=D("5"), reference="UC99", idempotency_key=None)

    with pytest.raises(GiftCardRefundExceedsRedeemed) as refused:
        refund_to_method(
            order=order, amount=D("10"), method="gift_card", user=None, idempotency_key="r"
        )

    assert refused.value.code == "gift_card_refund_exceeds_redeemed"
    assert not GiftCardEntry.objects.filter(kind="refund").exists()
    assert not PaymentOperation.objects.filter(kind="refund").exists()
