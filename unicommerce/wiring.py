"""Start-up wiring between sibling apps that may not import each other.

payments and loyalty are independent (import-linter's layers): payments offers seams (a
refund-method registry, a gateway registry), loyalty keeps the store credit ledger, and
this module, above both, plugs one into the other. Called once from
``UnicommerceConfig.ready()`` (all models are loaded by then); calling it again
re-registers the same things (tests that swap a seam use it to put ours back).

- refund method ``store_credit``: ``refund_to_method(method="store_credit")`` credits the
  order's customer, in the refund's transaction (the order row is locked, then the
  customer's);
- gateway ``store_credit``: ``payment_start(method="store_credit")`` spends from the
  order customer's balance. The gateway sees the payment id in the charge's metadata,
  hence the order and its customer. No remote call: the spend is a ledger row, written
  with the operation's idempotency key, so a replay (crash between the call and its
  record, ``payment_claims_resume``) answers the same row and never spends twice. A
  refund of such a payment gives the credit back to the same customer.
"""

from __future__ import annotations

from decimal import Decimal

from customers.models import Customer
from loyalty.exceptions import StoreCreditInsufficient, StoreCreditNeedsCustomer
from loyalty.models import StoreCreditEntry
from loyalty.services import store_credit_add, store_credit_spend
from orders.models import Order
from payments.gateways import Declined, Gateway, GatewayResult, gateway_register
from payments.models import Payment
from payments.refund_methods import refund_method_register
from unicommerce.converters import whole_number

STORE_CREDIT = "store_credit"


def _store_credit_refund(
    *,
    order: Order,
    amount: Decimal,
    currency: str,
    user,
    idempotency_key: str,
    reason: str,
) -> str:
    """The refund-method handler: the order's customer gets ``amount`` as store credit."""
    if order.customer_id is None:
        raise StoreCreditNeedsCustomer(order=order.reference)
    is_return = reason.lower().startswith("return")
    entry = store_credit_add(
        customer=Customer(pk=order.customer_id),
        amount=amount,
        currency=currency,
        reason=StoreCreditEntry.Reason.RETURN if is_return else StoreCreditEntry.Reason.REFUND,
        reference=order.reference,
        user=user,
        idempotency_key=f"refund-to:{idempotency_key}",
    )
    return f"sc_{entry.pk}"


def _entry_of(reference: str) -> StoreCreditEntry:
    prefix, _, pk = reference.partition("_")
    entry_id = whole_number(pk, minimum=1)
    if prefix != "sc" or entry_id is None:
        raise Declined("store_credit_reference_unknown", f"Unknown store credit {reference!r}.")
    entry = StoreCreditEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise Declined("store_credit_reference_unknown", f"Unknown store credit {reference!r}.")
    return entry


class StoreCreditGateway(Gateway):
    """Paying with store credit: a spend from the order customer's ledger."""

    code = STORE_CREDIT
    remote = False

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        metadata = extra.get("metadata") or {}
        payment = (
            Payment.objects.select_related("order").filter(pk=metadata.get("payment_id")).first()
        )
        if payment is None:
            raise Declined("store_credit_payment_unknown", "No payment to take store credit for.")
        if not capture:
            raise Declined(
                "store_credit_capture_only", "Store credit is taken at once, never held."
            )
        order = payment.order
        if order.customer_id is None:
            error = StoreCreditNeedsCustomer(order=order.reference)
            raise Declined(error.code, error.message)
        try:
            entry = store_credit_spend(
                customer=Customer(pk=order.customer_id),
                amount=amount,
                currency=currency,
                reference=order.reference,
                idempotency_key=f"charge:{idempotency_key}",
            )
        except StoreCreditInsufficient as error:
            raise Declined(error.code, error.message) from None
        return GatewayResult("succeeded", f"sc_{entry.pk}", amount, currency)

    def refund(self, *, reference, amount, currency, idempotency_key):
        spent = _entry_of(reference)
        entry = store_credit_add(
            customer=Customer(pk=spent.customer_id),
            amount=amount,
            currency=currency,
            reason=StoreCreditEntry.Reason.REFUND,
            reference=spent.reference,
            idempotency_key=f"refund:{idempotency_key}",
        )
        return GatewayResult("succeeded", f"sc_{entry.pk}", amount, currency)

    def capture(self, *, reference, amount, currency, idempotency_key):
        raise Declined("store_credit_capture_only", "Store credit is taken at once, never held.")

    def void(self, *, reference, idempotency_key):
        raise Declined("store_credit_capture_only", "Store credit is taken at once, never held.")


def store_credit_wire() -> None:
    """Register loyalty's store credit as payments' refund method and gateway."""
    refund_method_register(STORE_CREDIT, _store_credit_refund, gateway=STORE_CREDIT)
    gateway_register(STORE_CREDIT, StoreCreditGateway)


def wire() -> None:
    """Everything this module plugs in (called from ``UnicommerceConfig.ready``)."""
    store_credit_wire()


__all__ = ["StoreCreditGateway", "store_credit_wire", "wire"]
