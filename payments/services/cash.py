"""Cash at the till, and the till's hand-overs of checkout. Gateway payments (cards,
links, instalments) go through ``payments.services.operations``; both write the same
operations ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order
from payments.exceptions import InsufficientTender, NothingDue, TenderMissing
from payments.models import Payment, PaymentOperation
from payments.selectors import order_payment_totals
from payments.services.ledger import order_payment_recompute
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel


def cash_change(*, due: Decimal, tendered: Decimal, currency: str) -> Decimal:
    """The change to hand back, or InsufficientTender when the cash does not cover it."""
    due = money_round(due, currency)
    tendered = money_round(tendered, currency)
    if tendered < due:
        raise InsufficientTender(due=due, tendered=tendered, currency=currency)
    return tendered - due


@transaction.atomic
def payment_take_cash(
    *,
    order: Order,
    tendered: Decimal,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Payment:
    """Record cash covering what the order still owes, with the change given back: the
    payment, its capture in the operations ledger, and the order's payment status."""
    order = order_lock(order.pk)
    captured, refunded, in_flight = order_payment_totals(order)
    due = max(order.total_amount - (captured - refunded) - in_flight, Decimal("0.00"))
    if due <= 0:
        raise NothingDue(order=order.reference)
    change = cash_change(due=due, tendered=tendered, currency=order.currency)
    who = user if user and user.is_authenticated else None
    payment = Payment.objects.create(
        order=order,
        method=Payment.Method.CASH,
        status=Payment.Status.CAPTURED,
        amount=due,
        captured_amount=due,
        currency=order.currency,
        channel=channel or order.channel,
        tendered_amount=money_round(tendered, order.currency),
        change_amount=change,
        created_by=who,
    )
    PaymentOperation.objects.create(
        payment=payment,
        kind=PaymentOperation.Kind.CAPTURE,
        status=PaymentOperation.Status.SUCCEEDED,
        amount=due,
        currency=order.currency,
        created_by=who,
    )
    order_payment_recompute(order, actor=user, channel=channel)
    return payment


def payment_cash_handoff(
    *,
    order: Order,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> Payment:
    """Checkout's hand-over for the "cash" method (orders.payment_methods): the till
    passes the cash received as ``params["tendered"]``; the payment is recorded with the
    change, in the checkout's transaction (not enough cash: the checkout rolls back)."""
    tendered = (params or {}).get("tendered")
    if tendered is None:
        raise TenderMissing()
    return payment_take_cash(
        order=order, tendered=Decimal(str(tendered)), user=user, channel=channel
    )


def payment_card_terminal_handoff(
    *,
    order: Order,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Checkout's hand-over for "card_terminal": the external terminal has approved the
    charge at the till, which records it (``pos.services.till_card_record``) once this
    checkout has committed; until then the order says so on its timeline."""
    from orders.states import order_event_record

    order_event_record(
        order=order,
        kind="awaiting_payment",
        message=_("Approved on the card terminal at the till; being recorded."),
        data={"payment_method": order.payment_method},
        channel=channel,
        actor=user,
    )


def payment_split_handoff(
    *,
    order: Order,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Checkout's hand-over for "split" (a split tender at the till: gift card, points,
    store credit, then cash or the terminal for the rest): the till takes each tender
    once this checkout has committed (``pos.services.sale_pay_tenders``); until then the
    order says so on its timeline."""
    from orders.states import order_event_record

    order_event_record(
        order=order,
        kind="awaiting_payment",
        message=_("Split tender at the till; the tenders are being taken."),
        data={"payment_method": order.payment_method},
        channel=channel,
        actor=user,
    )
