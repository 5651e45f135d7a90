"""Payments' part of privacy: what an erasure blanks, and how long provider webhooks
are kept.

- ``payments_customer_erase``: the phones payment links and instalment plans were sent
  to, and the provider webhooks that carry the customer's details (a card provider
  sends the billing name, e-mail and phone), for the customer's payments or naming
  them. Amounts, statuses and the operations ledger stay (accounting).
- ``provider_events_prune``: webhooks older than ``PROVIDER_EVENT_KEEP_DAYS`` go; those
  an operation of the ledger points at (append-only, it cannot let go) keep their row,
  which dedups the event id, with an empty payload.

The receiver of customers' ``customer_erased`` and the retention task are plugged in by
``unicommerce.wiring`` (payments' own AppConfig is another area's).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from payments.models import InstalmentPlan, Payment, PaymentLink, PaymentOperation, ProviderEvent
from unicommerce.retention import BATCH, rows_prune

if TYPE_CHECKING:
    from customers.services.gdpr import ErasedIdentity

logger = logging.getLogger(__name__)

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


def provider_events_prune(*, now=None, batch: int = BATCH) -> int:
    """Delete provider webhooks received more than ``PROVIDER_EVENT_KEEP_DAYS`` ago, in
    batches (``unicommerce.retention``); those an operation of the append-only ledger
    points at keep their row (it dedups the event id) but lose their payload. Returns
    how many rows went."""
    now = now or timezone.now()
    before = now - timedelta(days=int(settings.PROVIDER_EVENT_KEEP_DAYS))
    referenced = Exists(PaymentOperation.objects.filter(provider_event=OuterRef("pk")))
    old = ProviderEvent.objects.filter(received_at__lt=before)
    deleted = rows_prune(old.filter(~referenced), batch=batch)
    ProviderEvent.objects.filter(
        pk__in=old.filter(referenced).exclude(payload={}).values("pk")
    ).update(payload={})
    if deleted:
        logger.info("pruned %d provider events received before %s", deleted, before)
    return deleted


@shared_task(name="payments.provider_events_prune", time_limit=600, soft_time_limit=570)
def provider_events_prune_task() -> int:
    """Beat, daily: provider webhooks past their retention."""
    return provider_events_prune()


def on_customer_erased(sender, *, customer, customer_ids=None, identity=None, **kwargs) -> None:
    """customers' ``customer_erased`` (connected by ``unicommerce.wiring``)."""
    from customers.services.gdpr import erased_identity

    payments_customer_erase(
        customer_ids=customer_ids or [customer.pk],
        identity=identity if identity is not None else erased_identity(customer),
    )
