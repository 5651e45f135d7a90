"""Paying with store credit: a gateway over the loyalty app's store credit ledger
(registered as ``store_credit`` by ``payments.registry``).

``payment_start(method="store_credit")`` spends from the order customer's balance. The
gateway sees the payment id in the charge's metadata, hence the order and its customer.
No remote call: the spend is a ledger row, written with the operation's idempotency key,
so a replay (crash between the call and its record, ``payment_claims_resume``) answers
the same row and never spends twice. A refund of such a payment gives the credit back to
the same customer.
"""

from __future__ import annotations

from customers.models import Customer
from loyalty.exceptions import StoreCreditInsufficient, StoreCreditNeedsCustomer
from loyalty.models import StoreCreditEntry
from loyalty.services.store_credit import store_credit_add, store_credit_spend
from payments.gateways.base import Declined, Gateway, GatewayResult
from payments.models import Payment
from unicommerce.converters import whole_number

STORE_CREDIT = "store_credit"


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
