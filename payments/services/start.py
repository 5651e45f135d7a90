"""Starting a payment: money taken (or authorised) towards an order through a gateway."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction

from orders.locks import order_lock
from orders.models import Order
from payments.conf import setting
from payments.exceptions import (
    GatewayUnknown,
    OrderNotPayable,
    PaymentCurrencyMismatch,
    PaymentDeclined,
    PaymentMethodUnsupported,
    amount_limit_check,
)
from payments.gateways import gateway_get
from payments.models import IN_PERSON, Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.common import (
    amount_check,
    idempotency_key_or_new,
    request_hash,
    token_check,
)
from payments.services.operations import payment_operation_run
from unicommerce.actors import acting_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind

# Gift cards, store credit and points are ledgers of the loyalty app; payments registers
# a gateway under these codes (payments.gateways.store_credit, payments.gateways.points).
LEDGER_GATEWAYS = {
    Payment.Method.GIFT_CARD: "gift_card",
    Payment.Method.STORE_CREDIT: "store_credit",
    Payment.Method.POINTS: "points",
}


def payment_start(
    *,
    order: Order,
    method: str,
    amount: Decimal,
    gateway: str | None = None,
    token: str = "",
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    currency: str | None = None,
    capture: bool = True,
) -> Payment:
    """Take ``amount`` towards ``order`` by ``method`` (captured at once, or only
    authorised with ``capture=False``).

    Refuses an amount of zero or less, another currency than the order's, and more than
    the order's outstanding amount. Returns the payment (captured, authorised, or pending
    when the provider confirms later by webhook); raises ``PaymentDeclined`` when the
    provider declines (the failure is recorded first), ``PaymentGatewayUnavailable``
    when it does not answer (retry with the same key). Call it outside any transaction:
    the claim must be committed before the provider is called.
    """
    method, code = _method_and_gateway(method, gateway)
    currency, amount = _currency_and_amount(order, currency, amount)
    token_check(token)
    key = idempotency_key_or_new(idempotency_key)
    fingerprint = request_hash(
        action="start",
        order=order.pk,
        method=method,
        amount=str(amount),
        currency=currency,
        gateway=code,
        token=token,
        capture=capture,
    )

    claim = partial(
        _start_claim,
        order=order,
        method=method,
        amount=amount,
        currency=currency,
        gateway=code,
        token=token,
        channel=channel,
        key=key,
        fingerprint=fingerprint,
        capture=capture,
        user=user,
    )
    answer = payment_operation_run(key=key, request_hash=fingerprint, claim=claim)
    payment = Payment.objects.get(pk=answer.payment_id)
    if answer.kind == K.FAILURE:
        raise PaymentDeclined(
            payment_id=payment.pk, decline_code=answer.error_code, message=answer.error_message
        )
    return payment


def _currency_and_amount(
    order: Order, currency: str | None, amount: Decimal
) -> tuple[str, Decimal]:
    """The order's currency (another is refused) and the amount checked in it."""
    currency = (currency or order.currency).upper()
    if currency != order.currency:
        raise PaymentCurrencyMismatch(expected=order.currency, given=currency)
    return currency, amount_check(amount, currency)


def _method_and_gateway(method: str, gateway: str | None) -> tuple[str, str]:
    """The method checked, and its gateway (refused before anything is written)."""
    method = str(method)
    if method not in Payment.Method.values:
        raise PaymentMethodUnsupported(method=method)
    code = gateway or _default_gateway(method)
    try:
        gateway_get(code)
    except GatewayUnknown:
        raise PaymentMethodUnsupported(method=method, gateway=code) from None
    return method, code


def _start_claim(
    *,
    order: Order,
    method: str,
    amount: Decimal,
    currency: str,
    gateway: str,
    token: str,
    channel: SalesChannel | None,
    key: str,
    fingerprint: str,
    capture: bool,
    user: AbstractBaseUser | None,
) -> PaymentOperation:
    """The pending payment and its claim, under the order's lock, once the order may
    take it."""
    with transaction.atomic():
        locked = order_lock(order.pk)
        if locked.status == Order.Status.CANCELLED:
            raise OrderNotPayable(order=locked.reference, status=locked.status)
        amount_limit_check(
            amount=amount, limit=order_outstanding_amount(locked), rule="due", currency=currency
        )
        payment = Payment.objects.create(
            order=locked,
            method=method,
            status=PS.PENDING,
            amount=amount,
            currency=currency,
            gateway=gateway,
            provider_token=token,
            channel=channel,
            idempotency_key=key,
            created_by=acting_user(user),
        )
        return Op.objects.create(
            payment=payment,
            kind=K.CAPTURE if capture else K.AUTHORISE,
            status=OPS.PENDING,
            amount=amount,
            currency=currency,
            idempotency_key=key,
            request_hash=fingerprint,
            created_by=acting_user(user),
        )


def _default_gateway(method: str) -> str:
    if method in IN_PERSON:
        return "manual"
    if method in LEDGER_GATEWAYS:
        return LEDGER_GATEWAYS[method]
    return str(setting("PAYMENT_GATEWAY"))
