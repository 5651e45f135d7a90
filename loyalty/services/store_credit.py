"""Store credit: balance, credit, spend (docs/payments.md, "Store credit").

The balance is never stored: it is the sum of the customer's ledger rows in a currency.
Writers take the customer's row lock (``customers.locks.customer_lock``) before reading
the balance, so two spends of one customer run one after the other and the second sees
the first: the balance never goes below zero, whatever the concurrency. Lock order for
callers that hold other locks: the order first, then the customer.

An ``idempotency_key`` makes a movement safe to send again (a payment gateway call
replayed after a crash, a refund retried): the same key answers the row it wrote.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum

from customers.locks import customer_lock, customers_lock
from customers.models import Customer
from loyalty.exceptions import (
    StoreCreditAmountInvalid,
    StoreCreditInsufficient,
    StoreCreditKeyReused,
    StoreCreditReasonInvalid,
)
from loyalty.models import StoreCreditEntry
from unicommerce.actors import acting_user
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.services.gdpr import ErasedIdentity

Reason = StoreCreditEntry.Reason


def _amount_check(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or money_round(amount, currency) <= 0:
        raise StoreCreditAmountInvalid(amount=amount, currency=currency)
    return money_round(amount, currency)


def store_credit_balance(*, customer: Customer, currency: str) -> Decimal:
    """The customer's store credit in ``currency``: the sum of their ledger rows."""
    total = StoreCreditEntry.objects.filter(
        customer_id=customer.pk, currency=currency.upper()
    ).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else Decimal("0.00")


def _replayed(
    key: str | None, *, customer: Customer, amount: Decimal, currency: str
) -> StoreCreditEntry | None:
    if not key:
        return None
    entry = StoreCreditEntry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if (entry.customer_id, entry.amount, entry.currency) != (customer.pk, amount, currency):
        raise StoreCreditKeyReused(key=key)
    return entry


@transaction.atomic
def store_credit_add(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    reason: str,
    reference: str = "",
    user: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> StoreCreditEntry:
    """Give ``amount`` (> 0) of store credit to ``customer`` (a refund, a return, or an
    adjustment). Returns the new ledger row (the same row for the same key)."""
    currency = currency.upper()
    amount = _amount_check(amount, currency)
    allowed = [Reason.REFUND, Reason.RETURN, Reason.ADJUSTMENT]
    if reason not in allowed:
        raise StoreCreditReasonInvalid(reason=reason, allowed=[str(r) for r in allowed])
    locked = customer_lock(customer.pk)
    entry = _replayed(idempotency_key, customer=locked, amount=amount, currency=currency)
    if entry is not None:
        return entry
    return StoreCreditEntry.objects.create(
        customer=locked,
        amount=amount,
        currency=currency,
        reason=reason,
        reference=reference[:100],
        idempotency_key=idempotency_key,
        created_by=acting_user(user),
    )


@transaction.atomic
def store_credit_spend(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    reference: str = "",
    user: AbstractBaseUser | None = None,
    reason: str = Reason.PURCHASE,
    idempotency_key: str | None = None,
) -> StoreCreditEntry:
    """Take ``amount`` (> 0) from the customer's store credit (a purchase; ``expiry`` or
    ``adjustment`` for the back office). Refuses more than the balance
    (``store_credit_insufficient``, with the balance) and writes nothing then. Returns
    the new ledger row, whose amount is negative (the same row for the same key)."""
    currency = currency.upper()
    amount = _amount_check(amount, currency)
    allowed = [Reason.PURCHASE, Reason.EXPIRY, Reason.ADJUSTMENT]
    if reason not in allowed:
        raise StoreCreditReasonInvalid(reason=reason, allowed=[str(r) for r in allowed])
    locked = customer_lock(customer.pk)  # every spend of this customer waits here
    entry = _replayed(idempotency_key, customer=locked, amount=-amount, currency=currency)
    if entry is not None:
        return entry
    balance = store_credit_balance(customer=locked, currency=currency)
    if amount > balance:
        raise StoreCreditInsufficient(amount=amount, balance=balance, currency=currency)
    return StoreCreditEntry.objects.create(
        customer=locked,
        amount=-amount,
        currency=currency,
        reason=reason,
        reference=reference[:100],
        idempotency_key=idempotency_key,
        created_by=acting_user(user),
    )


@transaction.atomic
def store_credit_merge(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> list[StoreCreditEntry]:
    """Move the duplicate's whole store credit to the survivor, currency by currency, as
    two new ledger rows written together (reason ``merge``): a debit on the duplicate
    "moved to customer #S" and the same credit on the survivor "moved from customer
    #D". No row is ever rewritten (the ledger is append-only); the duplicate's history
    stays on the duplicate, and its balance ends at zero.

    Idempotent: run again (a retried merge), it finds nothing left to move, and the
    idempotency keys forbid a second pair for the same currency. Both customers are
    locked (in primary-key order) before the balances are read. Returns the new rows."""
    customers_lock([survivor.pk, duplicate.pk])
    balances = (
        StoreCreditEntry.objects.filter(customer_id=duplicate.pk)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    written: list[StoreCreditEntry] = []
    for row in balances:
        currency, total = row["currency"], row["total"]
        key = f"merge:{duplicate.pk}:{survivor.pk}:{currency}"
        if not total or StoreCreditEntry.objects.filter(idempotency_key=f"{key}:out").exists():
            continue
        written += StoreCreditEntry.objects.bulk_create(
            [
                StoreCreditEntry(
                    customer_id=duplicate.pk,
                    amount=-total,
                    currency=currency,
                    reason=Reason.MERGE,
                    reference=f"moved to customer #{survivor.pk}",
                    idempotency_key=f"{key}:out",
                    created_by=acting_user(user),
                ),
                StoreCreditEntry(
                    customer_id=survivor.pk,
                    amount=total,
                    currency=currency,
                    reason=Reason.MERGE,
                    reference=f"moved from customer #{duplicate.pk}",
                    idempotency_key=f"{key}:in",
                    created_by=acting_user(user),
                ),
            ]
        )
    return written


def loyalty_customer_reassign(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> list[StoreCreditEntry]:
    """Loyalty's part of a merge (``crm.services.merging.customer_merge``): its ledgers
    are append-only, so their rows stay with the duplicate and the balances follow the
    survivor by compensating entries (``store_credit_merge``), in the merge's
    transaction. Returns the new rows."""
    return store_credit_merge(survivor=survivor, duplicate=duplicate, user=user)


def loyalty_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> None:
    """Loyalty's part of an erasure (``crm.services.erasure.customer_erase``): nothing to
    blank. The store credit ledger holds amounts, reasons and references (an order's, or
    "moved to customer #N"), never a name, an address or a number, and accounting keeps
    it; it stays on the erased customer's row."""


__all__ = [
    "loyalty_customer_erase",
    "loyalty_customer_reassign",
    "store_credit_add",
    "store_credit_balance",
    "store_credit_merge",
    "store_credit_spend",
]
