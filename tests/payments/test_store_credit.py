"""Store credit, from loyalty into payments (payments.gateways.store_credit): refunds to store
credit credit the order's customer, paying with store credit spends their balance
through payment_start, and returns are settled by their outcome (refund to the original
payments or at the till, store credit, exchange), once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import include, path

from loyalty.exceptions import StoreCreditNeedsCustomer
from loyalty.models import StoreCreditEntry
from loyalty.services.store_credit import store_credit_add, store_credit_balance
from orders.models import Fulfilment, Order, OrderEvent, Return
from orders.services.fulfilment import shipment_ship
from orders.services.returns import return_create
from payments.exceptions import (
    AmountExceeds,
    PaymentDeclined,
    RefundMethodUnsupported,
    ReturnAlreadySettled,
    ReturnSettleMethodInvalid,
)
from payments.models import Payment, PaymentOperation
from payments.registry import payments_strategies_register
from payments.selectors import order_refundable_amount
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_methods, refund_to_method
from payments.services.returns import return_settle
from payments.services.start import payment_start
from tests.api.conftest import client_with_key
from tests.factories import CustomerFactory, UserFactory
from tests.orders.fixtures_fulfilment import *  # noqa: F403
from unicommerce.channels.services import api_key_create

# Mounted as the project mounts it under /api/v1/.
urlpatterns = [path("api/v1/", include("payments.api.urls"))]

D = Decimal
PS = Order.PaymentStatus


@pytest.fixture(autouse=True)
def wired():
    """The start-up wiring (re-applied: other suites swap the store credit seam)."""
    payments_strategies_register()


def credit_of(customer) -> Decimal:
    return store_credit_balance(customer=customer, currency="EUR")


def placed(shop, total: str, *, customer=None) -> Order:
    return Order.objects.create(
        channel=shop.web,
        customer=customer,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=D(total),
    )


# --- refunds to store credit


def test_a_refund_to_store_credit_credits_the_customer_and_the_order_is_refunded(shop):
    camille = CustomerFactory()
    order = placed(shop, "80.00", customer=camille)
    payment_start(
        order=order, method="card_online", amount=D("80"), token="sim_ok", idempotency_key="c"
    )
    assert "store_credit" in refund_methods()

    op = refund_to_method(
        order=order,
        amount=D("80"),
        method="store_credit",
        user=shop.seller,
        idempotency_key="r1",
        reason="goodwill",
    )

    order.refresh_from_db()
    entry = StoreCreditEntry.objects.get()
    assert (entry.customer, entry.amount, entry.reason, entry.reference, entry.created_by) == (
        camille,
        D("80.00"),
        "refund",
        order.reference,
        shop.seller,
    )
    assert (op.payment.method, op.payment.gateway, op.provider_reference) == (
        "store_credit",
        "store_credit",
        f"sc_{entry.pk}",
    )
    assert order.payment_status == PS.REFUNDED
    assert credit_of(camille) == D("80.00")
    # The same key again: the same operation, no second credit.
    again = refund_to_method(
        order=order,
        amount=D("80"),
        method="store_credit",
        user=shop.seller,
        idempotency_key="r1",
        reason="goodwill",
    )
    assert again.pk == op.pk
    assert StoreCreditEntry.objects.count() == 1


def test_store_credit_for_an_order_without_a_customer_is_refused_and_nothing_moves(shop):
    order = placed(shop, "50.00")
    payment_start(order=order, method="cash", amount=D("50"), idempotency_key="c")

    with pytest.raises(StoreCreditNeedsCustomer) as error:
        refund_to_method(
            order=order, amount=D("10"), method="store_credit", user=None, idempotency_key="r"
        )

    assert (error.value.code, error.value.http_status) == ("store_credit_needs_customer", 409)
    order.refresh_from_db()
    assert order.payment_status == PS.PAID
    assert not StoreCreditEntry.objects.exists()
    assert not Payment.objects.filter(method="store_credit").exists()


# --- paying with store credit


def test_paying_with_store_credit_spends_the_customer_balance_and_refunds_give_it_back(shop):
    camille = CustomerFactory()
    store_credit_add(customer=camille, amount=D("30"), currency="EUR", reason="return")
    order = placed(shop, "100.00", customer=camille)

    credit = payment_start(order=order, method="store_credit", amount=D("30"), idempotency_key="sc")
    payment_start(
        order=order, method="card_online", amount=D("70"), token="sim_ok", idempotency_key="cd"
    )

    order.refresh_from_db()
    spent = StoreCreditEntry.objects.get(reason="purchase")
    assert (credit.status, credit.gateway, credit.captured_amount) == (
        "captured",
        "store_credit",
        D("30.00"),
    )
    assert credit.provider_reference == f"sc_{spent.pk}"
    assert (spent.amount, spent.reference) == (D("-30.00"), order.reference)
    assert credit_of(camille) == D("0.00")
    assert order.payment_status == PS.PAID
    # Replaying the same start answers the same payment and spends nothing more.
    assert (
        payment_start(order=order, method="store_credit", amount=D("30"), idempotency_key="sc").pk
        == credit.pk
    )
    assert StoreCreditEntry.objects.filter(reason="purchase").count() == 1

    payment_refund(payment=credit, amount=D("12"), idempotency_key="back")

    assert credit_of(camille) == D("12.00")
    credit.refresh_from_db()
    assert (credit.status, credit.refunded_amount) == ("partially_refunded", D("12.00"))


def test_a_short_balance_is_declined_and_no_credit_is_spent(shop):
    camille = CustomerFactory()
    store_credit_add(customer=camille, amount=D("20"), currency="EUR", reason="refund")
    order = placed(shop, "100.00", customer=camille)

    with pytest.raises(PaymentDeclined) as error:
        payment_start(order=order, method="store_credit", amount=D("20.01"), idempotency_key="s")

    assert error.value.decline_code == "store_credit_insufficient"
    assert credit_of(camille) == D("20.00")
    assert StoreCreditEntry.objects.count() == 1  # only the credit given
    order.refresh_from_db()
    assert (order.payment_status, order_refundable_amount(order)) == (PS.UNPAID, D("0"))
    # The payments ledger records the decline (a failed payment), nothing captured.
    payment = Payment.objects.get(method="store_credit")
    assert (payment.status, payment.captured_amount) == ("failed", D("0"))


def test_paying_with_store_credit_needs_a_customer_on_the_order(shop):
    order = placed(shop, "10.00")

    with pytest.raises(PaymentDeclined) as error:
        payment_start(order=order, method="store_credit", amount=D("5"), idempotency_key="s")

    assert error.value.decline_code == "store_credit_needs_customer"
    assert not StoreCreditEntry.objects.exists()


# --- settling returns


@pytest.fixture
def returned(shop, stocked_variant, make_order):
    """A shipped web order of two shirts at 25.00 for a customer, paid by card then cash
    (newest), and a function that brings ``quantity`` back with an outcome."""
    shirt = stocked_variant(warehouse=5, price_amount=D("25.00"))
    camille = CustomerFactory()
    order = make_order(lines=[(shirt, 2, Fulfilment.SHIP, shop.warehouse)], customer=camille)
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="T1")
    order.refresh_from_db()
    card = payment_start(
        order=order, method="card_online", amount=D("30"), token="sim_ok", idempotency_key="card"
    )
    cash = payment_start(order=order, method="cash", amount=D("20"), idempotency_key="cash")

    def bring_back(quantity: int, outcome: str, *, in_store: bool = False) -> Return:
        return return_create(
            order=order,
            channel=shop.store_channel if in_store else shop.web,
            lines=[{"order_line": order.lines.get(), "quantity": quantity, "reason": "wrong_size"}],
            receiving_location=shop.store if in_store else shop.warehouse,
            outcome=outcome,
            user=shop.seller,
        )

    return order, camille, card, cash, bring_back


def refunds_of(payment: Payment) -> list[Decimal]:
    return list(
        PaymentOperation.objects.filter(
            payment=payment, kind="refund", status="succeeded"
        ).values_list("amount", flat=True)
    )


def test_a_refund_return_goes_back_to_the_newest_payments_first_partially(returned, shop):
    order, camille, card, cash, bring_back = returned
    ret = bring_back(2, "refund")  # 50.00: the cash (20, newest) then 30 of the card

    settled = return_settle(ret=ret, user=shop.seller, idempotency_key="s1")

    assert settled.settlement == "settled"
    assert refunds_of(cash) == [D("20.00")]
    assert refunds_of(card) == [D("30.00")]
    order.refresh_from_db()
    assert order.payment_status == PS.REFUNDED
    event = OrderEvent.objects.get(order=order, kind="return_settled")
    assert (event.data["return"], event.data["outcome"], event.data["amount"]) == (
        ret.pk,
        "refund",
        "50.00",
    )
    assert sorted(event.data["payments"]) == sorted([card.pk, cash.pk])
    assert credit_of(camille) == D("0")


def test_a_partial_refund_return_takes_only_what_it_needs_from_the_newest(returned, shop):
    order, _, card, cash, bring_back = returned

    return_settle(ret=bring_back(1, "refund"), user=shop.seller, idempotency_key="s1")

    assert refunds_of(cash) == [D("20.00")]
    assert refunds_of(card) == [D("5.00")]
    order.refresh_from_db()
    assert (order.payment_status, order_refundable_amount(order)) == (
        PS.PARTIALLY_REFUNDED,
        D("25.00"),
    )


def test_a_web_order_returned_in_a_store_is_refunded_in_cash_at_the_till(returned, shop):
    order, _, card, cash, bring_back = returned
    ret = bring_back(1, "refund", in_store=True)
    assert ret.is_cross_channel is True

    return_settle(ret=ret, user=shop.seller, method="cash", idempotency_key="till")

    till = Payment.objects.get(order=order, status="refunded", amount=0)
    assert (till.method, refunds_of(till)) == ("cash", [D("25.00")])
    assert refunds_of(card) == refunds_of(cash) == []  # the original payments untouched
    event = OrderEvent.objects.get(order=order, kind="return_settled")
    assert (event.data["method"], event.data["payments"]) == ("cash", [till.pk])


def test_a_store_credit_return_credits_the_customer(returned, shop):
    order, camille, card, cash, bring_back = returned

    return_settle(ret=bring_back(2, "store_credit", in_store=True), idempotency_key="s1")

    entry = StoreCreditEntry.objects.get()
    assert (entry.customer, entry.amount, entry.reason) == (camille, D("50.00"), "return")
    assert credit_of(camille) == D("50.00")
    assert refunds_of(card) == refunds_of(cash) == []
    order.refresh_from_db()
    assert order.payment_status == PS.REFUNDED


def test_an_exchange_moves_no_money_and_is_settled_with_a_note(returned, shop):
    order, _, _, _, bring_back = returned
    exchange = bring_back(1, "exchange")
    with pytest.raises(ReturnSettleMethodInvalid):  # nothing to pay out, so no method
        return_settle(ret=exchange, idempotency_key="s0", method="cash")

    ret = return_settle(ret=exchange, idempotency_key="s1")

    assert ret.settlement == "settled"
    assert not PaymentOperation.objects.filter(kind="refund").exists()
    assert not StoreCreditEntry.objects.exists()
    event = OrderEvent.objects.get(order=order, kind="return_settled")
    assert "exchange" in event.message
    assert event.data["operations"] == []


def test_settling_twice_is_refused_but_the_same_key_answers_the_same(returned, shop):
    order, *_, bring_back = returned
    ret = bring_back(1, "refund")
    return_settle(ret=ret, idempotency_key="s1")

    assert return_settle(ret=ret, idempotency_key="s1").settlement == "settled"
    with pytest.raises(ReturnAlreadySettled) as error:
        return_settle(ret=ret, idempotency_key="s2", method="cash")

    assert (error.value.code, error.value.http_status) == ("return_already_settled", 409)
    assert PaymentOperation.objects.filter(kind="refund", resolves__isnull=True).count() == 2
    assert OrderEvent.objects.filter(order=order, kind="return_settled").count() == 1


def test_a_refund_the_payments_cannot_cover_is_refused_before_any_money_moves(
    shop, stocked_variant, make_order
):
    shirt = stocked_variant(warehouse=2, price_amount=D("25.00"))
    order = make_order(lines=[(shirt, 2, Fulfilment.SHIP, shop.warehouse)])
    shipment_ship(shipment=order.shipments.get(), carrier="DHL", tracking_number="T1")
    payment_start(order=order, method="cash", amount=D("10"), idempotency_key="cash")
    ret = return_create(
        order=order,
        channel=shop.web,
        lines=[{"order_line": order.lines.get(), "quantity": 1, "reason": "damaged"}],
        receiving_location=shop.warehouse,
        outcome="refund",
    )

    with pytest.raises(AmountExceeds, match="paid on this order and not refunded"):
        return_settle(ret=ret, idempotency_key="s1")
    with pytest.raises(RefundMethodUnsupported):
        return_settle(ret=ret, idempotency_key="s2", method="voucher")
    ret.refresh_from_db()
    assert ret.settlement == "pending"
    assert not PaymentOperation.objects.filter(kind="refund").exists()


# --- the API


def staff_client(*perms: str):
    """A staff script's client: an API key acting as a user holding ``perms``."""
    user = UserFactory(permissions=[*perms, "inventory.all_locations"])
    _, raw_key = api_key_create(user=user, name="script")
    return client_with_key(raw_key)


@pytest.fixture
def settle_api(db):
    return staff_client("payments.add_payment")


def settle(client, ret: Return, body: dict | None = None, key: str | None = "k1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/returns/{ret.pk}/settle/", body or {}, format="json", **headers)


@pytest.mark.urls(__name__)
def test_the_api_settles_a_return_once(returned, settle_api):
    order, camille, _, _, bring_back = returned
    ret = bring_back(1, "store_credit", in_store=True)

    missing_key = settle(settle_api, ret, key=None)
    forbidden = settle(staff_client("payments.view_payment"), ret)
    assert (missing_key.status_code, missing_key.json()["error"]["code"]) == (
        400,
        "idempotency_key_missing",
    )
    assert forbidden.status_code == 403
    assert not StoreCreditEntry.objects.exists()

    done = settle(settle_api, ret)
    again = settle(settle_api, ret)
    other = settle(settle_api, ret, key="k2")

    assert done.status_code == 200
    body = done.json()
    assert (body["id"], body["order"], body["outcome"], body["settlement"], body["amount"]) == (
        ret.pk,
        order.reference,
        "store_credit",
        "settled",
        "25.00",
    )
    assert len(body["operations"]) == 1
    assert again.status_code == 200
    assert again.json() == body
    assert (other.status_code, other.json()["error"]["code"]) == (409, "return_already_settled")
    assert credit_of(camille) == D("25.00")
    missing = settle(settle_api, Return(pk=ret.pk + 1000))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "return_not_found")


def test_the_payments_app_registers_store_credit_at_start_up():
    from django.apps import apps

    from payments.gateways import gateway_get, gateway_unregister
    from payments.gateways.store_credit import StoreCreditGateway
    from payments.services.refund_methods import refund_method_unregister

    refund_method_unregister("store_credit")
    gateway_unregister("store_credit")
    assert "store_credit" not in refund_methods()

    apps.get_app_config("payments").ready()

    assert "store_credit" in refund_methods()
    assert isinstance(gateway_get("store_credit"), StoreCreditGateway)
