"""Payments' part when a customer is merged or erased, called by crm's orchestration
(``crm.services``) inside its transaction.

- ``payments_customer_reassign``: nothing moves; payments reach a customer through their
  order, which follows the survivor (``orders_customer_reassign``).
- ``payments_customer_erase``: the phones payment links and instalment plans were sent
  to, and the provider webhooks that carry the customer's details (a card provider
  sends the billing name, e-mail and phone), for the customer's payments or naming
  them. Amounts, statuses and the operations ledger stay (accounting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q

from payments.models import InstalmentPlan, Payment, PaymentLink, ProviderEvent

if TYPE_CHECKING:
    from customers.models import Customer
    from customers.services.gdpr import ErasedIdentity


def payments_customer_reassign(*, survivor: Customer, duplicate: Customer) -> None:
    """Payments' part of a merge: nothing to move. Payments, links, instalment plans and
    webhooks hold no key to a customer; they reach one through their order, which
    ``orders_customer_reassign`` moves to the survivor."""


# Keys under which providers put personal details in a webhook's payload: whatever
# their value, it goes once the event belongs to an erased customer.
PERSONAL_KEYS = frozenset(
    {
        "address",
        "billing_details",
        "customer_details",
        "email",
        "name",
        "phone",
        "receipt_email",
        "shipping",
        "shipping_details",
    }
)


def _without_personal_keys(value):
    if isinstance(value, dict):
        return {
            key: ("[erased]" if key in PERSONAL_KEYS else _without_personal_keys(inner))
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_without_personal_keys(inner) for inner in value]
    return value


def payments_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> None:
    """GDPR erasure, payments' part (inside the erase transaction)."""
    PaymentLink.objects.filter(order__customer_id__in=customer_ids).exclude(phone="").update(
        phone=""
    )
    InstalmentPlan.objects.filter(payment__order__customer_id__in=customer_ids).exclude(
        phone=""
    ).update(phone="")
    if identity.phones:
        PaymentLink.objects.filter(phone__in=identity.phones).update(phone="")
        InstalmentPlan.objects.filter(phone__in=identity.phones).update(phone="")
    references = Payment.objects.filter(order__customer_id__in=customer_ids).exclude(
        provider_reference=""
    )
    theirs = Q(provider_reference__in=references.values("provider_reference")) | Q(
        operations__payment__order__customer_id__in=customer_ids
    )
    if identity.patterns:
        table = ProviderEvent._meta.db_table
        theirs |= Q(
            pk__in=_ids_where(
                f"SELECT id FROM {table} WHERE payload::text ILIKE ANY(%s)",  # noqa: S608
                [identity.ilike_any()],
            )
        )
    for event in ProviderEvent.objects.filter(theirs).distinct():
        event.payload = identity.scrub(_without_personal_keys(event.payload))
        event.save(update_fields=["payload"])


def _ids_where(sql: str, params: list) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
