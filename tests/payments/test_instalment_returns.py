"""A return of an order paid by instalments, settled to its original payments.

The order (119.70) was paid by a payment link in 3 instalments of 39.90: one charged so
far, the order counts as paid (paid in instalments). Goods worth 59.90 come back: the
customer owes 59.90 less, so the plan's last parts are taken off first (nothing moves),
and only what goes beyond what the plan still had to collect is refunded to the charge,
never more than was charged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Fulfilment, Order, OrderEvent, Return
from orders.services.fulfilment import shipment_ship
from orders.services.returns import return_create
from payments.exceptions import AmountExceeds
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment, PaymentOperation
from payments.selectors import original_payments_capacity
from payments.services.instalment_collection import instalments_collect
from payments.services.links import payment_link_create, payment_link_pay
from payments.services.returns import return_settle
from tests.orders.fixtures_fulfilment import *  # noqa: F403

D = Decimal
PS = Order.PaymentStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def instalment_order(shop, stocked_variant, make_order):
    """A shipped web order (a jacket at 59.90 and two shirts at 29.90: 119.70) paid by a
    link in 3 instalments, the first charged; and a function bringing goods back."""
    jacket = stocked_variant(warehouse=3, price_amount=D("59.90"))
    shirt = stocked_variant(warehouse=5, price_amount=D("29.90"))
    order = make_order(
        lines=[
            (jacket, 1, Fulfilment.SHIP, shop.warehouse),
            (shirt, 2, Fulfilment.SHIP, shop.warehouse),
        ]
    )
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="T1")
    _link, token = payment_link_create(order=order, phone="+33612345678")
    payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="p")
    order.refresh_from_db()
    assert (order.total_amount, order.payment_status) == (D("119.70"), PS.PAID)
    lines = {line.variant_id: line for line in order.lines.all()}

    def bring_back(variant, quantity: int) -> Return:
        return return_create(
            order=order,
            channel=shop.store_channel,
            lines=[{"order_line": lines[variant.pk], "quantity": quantity, "reason": "damaged"}],
            receiving_location=shop.store,
            outcome=Return.Outcome.REFUND,
            user=shop.seller,
        )

    return order, jacket, shirt, bring_back


def parts(order) -> list[tuple[str, Decimal]]:
    plan = InstalmentPlan.objects.get(payment__order=order)
    return [(p.status, p.amount) for p in plan.parts.order_by("number")]


def refunds(order) -> list[Decimal]:
    return list(
        PaymentOperation.objects.filter(
            payment__order=order, kind="refund", status="succeeded"
        ).values_list("amount", flat=True)
    )


def test_a_return_is_taken_off_the_instalments_still_due_without_refusing(instalment_order, shop):
    order, jacket, _shirt, bring_back = instalment_order
    ret = bring_back(jacket, 1)  # 59.90, more than the 39.90 charged so far
    assert original_payments_capacity(order).total == D("119.70")

    settled = return_settle(ret=ret, user=shop.seller, idempotency_key="s1")

    assert settled.settlement == "settled"
    # The last part is cancelled, the second lowered by the rest: 59.90 less to pay.
    assert parts(order) == [
        ("paid", D("39.90")),
        ("scheduled", D("19.90")),
        ("cancelled", D("39.90")),
    ]
    assert refunds(order) == []  # nothing charged needed to go back
    payment = Payment.objects.get(order=order, method="instalment")
    assert (payment.status, payment.amount, payment.captured_amount) == (
        "authorised",
        D("59.80"),
        D("39.90"),
    )
    order.refresh_from_db()
    assert order.payment_status == PS.PARTIALLY_REFUNDED
    event = OrderEvent.objects.get(order=order, kind="return_settled")
    assert (event.data["taken_off"], event.data["payments"]) == ("59.90", [payment.pk])
    assert "59.90 taken off the instalments still due" in event.message
    # The plan collects the reduced part when it is due, no more.
    simulated.reset()
    part = InstalmentPlan.objects.get(payment=payment).parts.get(number=2)
    instalments_collect(now=_day_after(part.due_date))
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", D("59.80"))
    assert [c.amount for c in simulated.charges()] == [D("19.90")]
    assert InstalmentPlan.objects.get(payment=payment).status == "completed"


def test_beyond_what_is_still_due_the_charged_part_is_refunded_never_more(instalment_order, shop):
    order, jacket, shirt, bring_back = instalment_order
    return_settle(ret=bring_back(jacket, 1), user=shop.seller, idempotency_key="s1")
    ret = bring_back(shirt, 2)  # 59.80: 19.90 still due, then 39.90 refunded

    return_settle(ret=ret, user=shop.seller, idempotency_key="s2")

    assert parts(order) == [
        ("paid", D("39.90")),
        ("cancelled", D("19.90")),
        ("cancelled", D("39.90")),
    ]
    assert refunds(order) == [D("39.90")]
    payment = Payment.objects.get(order=order, method="instalment")
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
        "refunded",
        D("39.90"),
        D("39.90"),
    )
    order.refresh_from_db()
    assert order.payment_status == PS.REFUNDED
    assert InstalmentPlan.objects.get(payment=payment).status == "completed"


def test_a_return_the_payments_cannot_cover_is_refused_and_nothing_changes(instalment_order, shop):
    order, jacket, _shirt, bring_back = instalment_order
    ret = bring_back(jacket, 1)
    # The second part is being charged right now: its outcome is not known, so only the
    # third part (39.90) can be taken off, and the charged money cannot go back yet.
    plan = InstalmentPlan.objects.get(payment__order=order)
    plan.parts.filter(number=2).update(status="processing")
    before = parts(order)

    with pytest.raises(AmountExceeds, match="paid on this order and not refunded") as error:
        return_settle(ret=ret, user=shop.seller, idempotency_key="s1")

    assert error.value.details["refundable"] == "39.90"
    assert parts(order) == before
    assert refunds(order) == []
    assert not PaymentOperation.objects.filter(payment__order=order, kind="void").exists()
    ret.refresh_from_db()
    assert ret.settlement == "pending"


def test_the_same_settle_again_takes_nothing_more_off(instalment_order, shop):
    order, jacket, _shirt, bring_back = instalment_order
    ret = bring_back(jacket, 1)

    return_settle(ret=ret, user=shop.seller, idempotency_key="s1")
    return_settle(ret=ret, user=shop.seller, idempotency_key="s1")

    assert parts(order)[1] == ("scheduled", D("19.90"))
    assert PaymentOperation.objects.filter(payment__order=order, kind="void").count() == 1


def _day_after(day):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time(12)))
