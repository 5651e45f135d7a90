"""The only place customers takes row locks. Call inside ``transaction.atomic()``: the
querysets are evaluated here, so the lock is really taken, in primary-key order (two
sessions locking the same customers never deadlock)."""

from __future__ import annotations

from collections.abc import Iterable

from customers.models import Customer


def customer_lock(customer_id: int) -> Customer:
    """The customer row, re-read under a lock (Customer.DoesNotExist if gone)."""
    return Customer.objects.select_for_update().get(pk=customer_id)


def customers_lock(customer_ids: Iterable[int]) -> dict[int, Customer]:
    """Several customer rows, locked in primary-key order, by primary key."""
    return {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__in=sorted(set(customer_ids)))
        .order_by("pk")
    }
