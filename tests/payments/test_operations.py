"""Payment operations on the simulated gateway: split tender, the order's derived payment
status, refunds, the rules that refuse a payment, idempotency and the append-only ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from orders.locks import order_lock
from orders.models import Order, OrderEvent
from payments.exceptions import (
    AmountExceeds,
    CardNumberRefused,
    IdempotencyKeyReused,
    OrderNotPayable,
    PaymentAmountInvalid,
    PaymentCurrencyMismatch,
    PaymentDeclined,
    PaymentMethodUnsupported,
    PaymentStateInvalid,
)
from payments.gateways import simulated
from payments.models import Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.capture import payment_capture
from payments.services.cash import payment_take_cash
from payments.services.ledger import order_payment_recompute
from payments.services.refund import payment_refund
from payments.services.start import payment_start
from payments.services.void import payment_void
from unicommerce.events.models import OutboxEvent

PS = Order.PaymentStatus
K = PaymentOperation.Kind


def ledger(payment: Payment) -> list[tuple[str, str, Decimal]]:
    return [(op.kind, op.status, op.amount) for op in payment.operations.order_by("id")]


def test_split_tender_cash_card_online_and_store_credit_add_up_to_paid(make_order, store_credit):
    order = make_order(total="100.00")

    cash = payment_start(order=order, method="cash", amount=Decimal("20"), idempotency_key="k-cash")
    order.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_PAID
    card = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("50.00"),
        token="sim_ok",
        idempotency_key="k-card",
    )
    credit = payment_start(
        order=order,
        method="store_credit",
        amount=Decimal("30.00"),
        token="credit-camille",
        idempotency_key="k-credit",
    )

    order.refresh_from_db()
    assert order.payment_status == PS.PAID
    assert order_outstanding_amount(order) == Decimal("0.00")
    assert [(p.method, p.status, p.gateway, p.captured_amount) for p in (cash, card, credit)] == [
        ("cash", "captured", "manual", Decimal("20.00")),
        ("card_online", "captured", "simulated", Decimal("50.00")),
        ("store_credit", "captured", "store_credit", Decimal("30.00")),
    ]
    assert ledger(card) == [
        ("capture", "pending", Decimal("50.00")),
        ("capture", "succeeded", Decimal("50.00")),
    ]
    assert (card.card_brand, card.card_last4) == ("visa", "4242")
    assert store_credit.balances["credit-camille"] == Decimal("0.00")
    assert list(
        OrderEvent.objects.filter(order=order, kind="payment").values_list(
            "from_status", "to_status"
        )
    ) == [("unpaid", "partially_paid"), ("partially_paid", "paid")]
    topics = list(OutboxEvent.objects.order_by("created_at").values_list("topic", flat=True))
    assert topics.count("payment.captured") == 3
    assert topics.count("order.paid") == 1


def test_a_cash_payment_from_the_till_counts_towards_the_order(make_order):
    order = make_order(total="40.00")
    till = payment_take_cash(order=order, tendered=Decimal("50.00"))
    assert (till.status, till.captured_amount, till.change_amount) == (
        "captured",
        Decimal("40.00"),
        Decimal("10.00"),
    )
    assert order_outstanding_amount(order) == Decimal("0.00")
    with transaction.atomic():
        order_payment_recompute(order_lock(order.pk))
    order.refresh_from_db()
    assert order.payment_status == PS.PAID

    with pytest.raises(AmountExceeds, match="still due on this order"):
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("1"),
            token="sim_ok",
            idempotency_key="k",
        )

    payment_refund(payment=till, amount=Decimal("15.00"), idempotency_key="r1", reason="return")
    order.refresh_from_db()
    till.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_REFUNDED
    assert (till.status, till.refunded_amount) == ("partially_refunded", Decimal("15.00"))


def test_partial_then_full_refund_to_the_original_payment(make_order):
    order = make_order(total="80.00")
    card = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("80"),
        token="sim_ok",
        idempotency_key="pay",
    )

    refund = payment_refund(
        payment=card, amount=Decimal("30.00"), idempotency_key="r1", reason="one shirt back"
    )

    order.refresh_from_db()
    card.refresh_from_db()
    assert (refund.kind, refund.status, refund.amount, refund.reason) == (
        "refund",
        "succeeded",
        Decimal("30.00"),
        "one shirt back",
    )
    assert refund.provider_reference.startswith("sim_re_")
    assert (card.status, card.refunded_amount) == ("partially_refunded", Decimal("30.00"))
    assert order.payment_status == PS.PARTIALLY_REFUNDED

    with pytest.raises(AmountExceeds, match="can still be refunded") as refused:
        payment_refund(payment=card, amount=Decimal("50.01"), idempotency_key="r2")
    assert refused.value.details["refundable"] == "50.00"

    payment_refund(payment=card, amount=Decimal("50.00"), idempotency_key="r3")
    order.refresh_from_db()
    card.refresh_from_db()
    assert (card.status, card.refunded_amount) == ("refunded", Decimal("80.00"))
    assert order.payment_status == PS.REFUNDED
    assert [c.action for c in simulated.CALLS] == ["charge", "refund", "refund"]


def test_overpaying_is_refused_and_nothing_is_charged(make_order):
    order = make_order(total="50.00")
    payment_start(
        order=order, method="card_online", amount=Decimal("30"), token="sim_ok", idempotency_key="a"
    )

    with pytest.raises(AmountExceeds, match="still due on this order") as refused:
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("20.01"),
            token="sim_ok",
            idempotency_key="b",
        )

    assert refused.value.code == "payment_exceeds_due"
    assert refused.value.details == {"amount": "20.01", "outstanding": "20.00", "currency": "EUR"}
    assert Payment.objects.filter(order=order).count() == 1
    assert len(simulated.charges()) == 1
    order.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_PAID


def test_a_pending_payment_holds_its_share_of_the_amount_due(make_order):
    order = make_order(total="50.00")
    payment_start(
        order=order,
        method="card_online",
        amount=Decimal("50"),
        token="sim_delayed",
        idempotency_key="a",
    )

    with pytest.raises(AmountExceeds, match="still due on this order"):
        payment_start(order=order, method="cash", amount=Decimal("1"), idempotency_key="b")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"amount": Decimal("0")}, PaymentAmountInvalid),
        ({"amount": Decimal("-5")}, PaymentAmountInvalid),
        ({"amount": Decimal("10"), "currency": "USD"}, PaymentCurrencyMismatch),
        ({"amount": Decimal("10"), "method": "cheque"}, PaymentMethodUnsupported),
        # A method whose gateway is not registered (gift_card was, before loyalty had one).
        ({"amount": Decimal("10"), "gateway": "nowhere"}, PaymentMethodUnsupported),
        ({"amount": Decimal("10"), "token": "4242 4242 4242 4242"}, CardNumberRefused),
    ],
)
def test_bad_payment_requests_are_refused_before_anything_is_written(make_order, fields, error):
    order = make_order(total="50.00")
    request = {"method": "card_online", "token": "sim_ok", **fields}

    with pytest.raises(error):
        payment_start(order=order, idempotency_key="bad", **request)

    assert not Payment.objects.exists()
    assert not PaymentOperation.objects.exists()
    assert simulated.CALLS == []


def test_a_cancelled_order_cannot_be_paid(make_order):
    order = make_order(total="50.00")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    with pytest.raises(OrderNotPayable):
        payment_start(order=order, method="cash", amount=Decimal("5"), idempotency_key="c")
    assert not Payment.objects.exists()


def test_same_key_same_request_gives_the_same_answer_and_charges_once(make_order):
    order = make_order(total="50.00")
    first = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("50"),
        token="sim_ok",
        idempotency_key="same",
    )

    again = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("50.00"),
        token="sim_ok",
        idempotency_key="same",
    )

    assert again.pk == first.pk
    assert (again.status, again.provider_reference) == (first.status, first.provider_reference)
    assert len(simulated.charges()) == 1
    assert len(simulated.CALLS) == 1  # the replay never reached the gateway
    assert PaymentOperation.objects.count() == 2


def test_same_key_with_other_parameters_is_refused(make_order):
    order = make_order(total="50.00")
    payment_start(
        order=order,
        method="card_online",
        amount=Decimal("20"),
        token="sim_ok",
        idempotency_key="k1",
    )

    with pytest.raises(IdempotencyKeyReused) as refused:
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("30"),
            token="sim_ok",
            idempotency_key="k1",
        )
    assert refused.value.code == "idempotency_key_reused"
    with pytest.raises(IdempotencyKeyReused):
        payment_refund(payment=Payment.objects.get(), amount=Decimal("5"), idempotency_key="k1")

    assert Payment.objects.count() == 1
    assert len(simulated.charges()) == 1


def test_a_decline_is_recorded_and_replayed_as_the_same_error(make_order):
    order = make_order(total="50.00")

    with pytest.raises(PaymentDeclined) as declined:
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("50"),
            token="sim_decline",
            idempotency_key="d",
        )

    payment = Payment.objects.get()
    assert declined.value.details == {"payment_id": payment.pk, "decline_code": "card_declined"}
    assert declined.value.http_status == 402
    assert payment.status == "failed"
    assert ledger(payment) == [
        ("capture", "pending", Decimal("50.00")),
        ("failure", "failed", Decimal("50.00")),
    ]
    assert order_outstanding_amount(order) == Decimal("50.00")  # a failure holds nothing
    with pytest.raises(PaymentDeclined) as replayed:
        payment_start(
            order=order,
            method="card_online",
            amount=Decimal("50"),
            token="sim_decline",
            idempotency_key="d",
        )
    assert replayed.value.details == declined.value.details
    assert len(simulated.CALLS) == 1
    order.refresh_from_db()
    assert order.payment_status == PS.UNPAID


def test_authorise_then_capture_less_and_void(make_order):
    order = make_order(total="100.00")
    held = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("60"),
        token="sim_ok",
        idempotency_key="h",
        capture=False,
    )
    assert (held.status, held.captured_amount) == ("authorised", Decimal("0.00"))
    order.refresh_from_db()
    assert order.payment_status == PS.UNPAID

    captured = payment_capture(payment=held, amount=Decimal("55.00"), idempotency_key="c")

    assert (captured.status, captured.captured_amount) == ("captured", Decimal("55.00"))
    with pytest.raises(PaymentStateInvalid):
        payment_void(payment=captured, idempotency_key="v")
    other = payment_start(
        order=order,
        method="card_online",
        amount=Decimal("45"),
        token="sim_ok",
        idempotency_key="h2",
        capture=False,
    )
    voided = payment_void(payment=other, idempotency_key="v2")
    assert voided.status == "voided"
    assert ledger(voided)[-1] == ("void", "succeeded", Decimal("45.00"))
    assert order_outstanding_amount(order) == Decimal("45.00")
    order.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_PAID


def test_the_operations_ledger_is_append_only(make_order):
    order = make_order(total="10.00")
    payment = payment_start(order=order, method="cash", amount=Decimal("10"), idempotency_key="x")
    operation = payment.operations.last()

    for statement in (
        "UPDATE payments_paymentoperation SET amount = 1 WHERE id = %s",
        "DELETE FROM payments_paymentoperation WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [operation.pk])

    operation.refresh_from_db()
    assert operation.amount == Decimal("10.00")


def test_one_claim_has_at_most_one_final_outcome(make_order):
    order = make_order(total="10.00")
    payment = payment_start(order=order, method="cash", amount=Decimal("10"), idempotency_key="x")
    claim = payment.operations.first()

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentOperation.objects.create(
            payment=payment,
            kind=K.CAPTURE,
            status="succeeded",
            amount=Decimal("10"),
            currency="EUR",
            resolves=claim,
        )


def test_cash_is_refused_when_nothing_is_left_to_pay(make_order):
    from payments.exceptions import NothingDue
    from payments.services.cash import payment_take_cash

    order = make_order(total="20.00")
    payment_take_cash(order=order, tendered=Decimal("20.00"))

    with pytest.raises(NothingDue):
        payment_take_cash(order=order, tendered=Decimal("5.00"))
    assert Payment.objects.filter(order=order).count() == 1
