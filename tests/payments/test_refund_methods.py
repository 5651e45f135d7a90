"""Refunds to another method than the original payment: cash at the till for a card
payment, store credit only through a registered handler, and never more than was paid
over the whole order, whichever way the money goes back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from payments.exceptions import (
    AmountExceeds,
    IdempotencyKeyReused,
    PaymentAmountInvalid,
    RefundMethodUnsupported,
    StoreCreditUnavailable,
)
from payments.models import Payment, PaymentOperation
from payments.selectors import order_refundable_amount
from payments.services.refund import payment_refund
from payments.services.refund_methods import (
    refund_method_register,
    refund_method_unregister,
    refund_methods,
    refund_to_method,
)
from payments.services.start import payment_start
from unicommerce.events.models import OutboxEvent

D = Decimal
PS = Order.PaymentStatus


@pytest.fixture
def card_paid(make_order):
    order = make_order(total="100.00")
    card = payment_start(
        order=order, method="card_online", amount=D("100"), token="sim_ok", idempotency_key="c"
    )
    return order, card


def test_a_card_payment_refunded_in_cash_at_the_till(card_paid):
    order, card = card_paid

    op = refund_to_method(
        order=order, amount=D("30"), method="cash", user=None, idempotency_key="r1", reason="return"
    )

    order.refresh_from_db()
    cash = op.payment
    assert (op.kind, op.status, op.amount, op.reason) == (
        "refund",
        "succeeded",
        D("30.00"),
        "return",
    )
    assert (cash.method, cash.status, cash.amount, cash.gateway) == (
        "cash",
        "refunded",
        D("0"),
        "manual",
    )
    assert order.payment_status == PS.PARTIALLY_REFUNDED
    assert order_refundable_amount(order) == D("70.00")
    card.refresh_from_db()
    assert (card.status, card.refunded_amount) == ("captured", D("0"))  # the card is untouched
    assert OutboxEvent.objects.filter(topic="payment.refunded").count() == 1


def test_the_whole_order_is_never_refunded_twice_over(card_paid):
    order, card = card_paid
    refund_to_method(order=order, amount=D("80"), method="cash", user=None, idempotency_key="r1")

    with pytest.raises(AmountExceeds, match="paid on this order and not refunded") as error:
        refund_to_method(
            order=order, amount=D("20.01"), method="card_terminal", user=None, idempotency_key="r2"
        )
    with pytest.raises(
        AmountExceeds, match="paid on this order and not refunded"
    ):  # the original payment sees the cash refund too
        payment_refund(payment=card, amount=D("20.01"), idempotency_key="r3")

    assert error.value.details["refundable"] == "20.00"
    payment_refund(payment=card, amount=D("20.00"), idempotency_key="r4")
    order.refresh_from_db()
    assert order.payment_status == PS.REFUNDED
    assert order_refundable_amount(order) == D("0.00")
    assert PaymentOperation.objects.filter(kind="refund", status="succeeded").count() == 2


def test_the_same_key_answers_the_same_refund_and_other_parameters_are_refused(card_paid):
    order, _card = card_paid
    first = refund_to_method(
        order=order, amount=D("10"), method="cash", user=None, idempotency_key="r1"
    )

    again = refund_to_method(
        order=order, amount=D("10"), method="cash", user=None, idempotency_key="r1"
    )
    with pytest.raises(IdempotencyKeyReused):
        refund_to_method(
            order=order, amount=D("11"), method="cash", user=None, idempotency_key="r1"
        )
    with pytest.raises(IdempotencyKeyReused):  # a payment's key is not a refund's
        refund_to_method(order=order, amount=D("1"), method="cash", user=None, idempotency_key="c")

    assert again.pk == first.pk
    assert Payment.objects.filter(method="cash").count() == 1


@pytest.fixture
def without_store_credit():
    """As if the loyalty app were not wired in; wired back afterwards."""
    from payments.registry import payments_strategies_register

    refund_method_unregister("store_credit")
    yield
    payments_strategies_register()


def test_store_credit_is_refused_until_loyalty_registers_a_handler(card_paid, without_store_credit):
    order, _card = card_paid

    with pytest.raises(StoreCreditUnavailable) as error:
        refund_to_method(
            order=order, amount=D("10"), method="store_credit", user=None, idempotency_key="s1"
        )
    assert (error.value.code, error.value.http_status) == ("store_credit_unavailable", 409)
    assert not Payment.objects.filter(method="store_credit").exists()

    issued = []

    def credit(*, order, amount, currency, user, idempotency_key, reason):
        issued.append((order.pk, amount, currency, idempotency_key))
        return f"credit-{idempotency_key}"

    refund_method_register("store_credit", credit)
    try:
        assert "store_credit" in refund_methods()
        op = refund_to_method(
            order=order, amount=D("10"), method="store_credit", user=None, idempotency_key="s2"
        )
    finally:
        refund_method_unregister("store_credit")

    assert issued == [(order.pk, D("10.00"), "EUR", "s2")]
    assert (op.payment.method, op.payment.gateway, op.provider_reference) == (
        "store_credit",
        "store_credit",
        "credit-s2",
    )


def test_a_failing_handler_leaves_nothing_behind(card_paid):
    order, _card = card_paid

    def broken(**kwargs):
        raise AmountExceeds(rule="paid", amount=D("1"), limit=D("0"), currency="EUR")

    refund_method_register("store_credit", broken)
    try:
        with pytest.raises(AmountExceeds, match="paid on this order and not refunded"):
            refund_to_method(
                order=order, amount=D("5"), method="store_credit", user=None, idempotency_key="b"
            )
    finally:
        refund_method_unregister("store_credit")
    assert not Payment.objects.filter(method="store_credit").exists()
    order.refresh_from_db()
    assert order.payment_status == PS.PAID


@pytest.mark.parametrize(("method", "error"), [("bitcoin", RefundMethodUnsupported)])
def test_unknown_methods_and_bad_amounts_are_refused(card_paid, method, error):
    order, _card = card_paid

    with pytest.raises(error):
        refund_to_method(order=order, amount=D("5"), method=method, user=None, idempotency_key="x")
    with pytest.raises(PaymentAmountInvalid):
        refund_to_method(order=order, amount=D("0"), method="cash", user=None, idempotency_key="y")
    assert Payment.objects.count() == 1


def test_nothing_paid_nothing_to_refund(make_order):
    order = make_order(total="100.00")

    with pytest.raises(AmountExceeds, match="paid on this order and not refunded"):
        refund_to_method(order=order, amount=D("1"), method="cash", user=None, idempotency_key="n")
    assert not Payment.objects.exists()
