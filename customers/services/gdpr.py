"""GDPR: export everything kept about a customer, and erase (anonymise) them while
keeping what accounting must keep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from customers.locks import customer_lock
from customers.models import AccessToken, Consent, Customer, LoginCode
from customers.registry import export_sections
from customers.services.profile import ADDRESS_FIELDS, CustomerErased
from customers.signals import customer_erased

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser


# --- GDPR: export and erase -----------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def customer_export(customer: Customer) -> dict[str, Any]:
    """Everything kept about the customer, JSON-able: the profile, addresses, the whole
    consent history, notes, and the sections other apps register
    (``customers.registry.export_section``: orders, payments, loyalty…)."""
    data: dict[str, Any] = {
        "format": "unicommerce.customer_export.v1",
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": customer.pk,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "tags": list(customer.tags),
            "first_seen_on": customer.source_channel.code if customer.source_channel else None,
            "created_at": _iso(customer.created_at),
            "merged_into": customer.merged_into_id,
            "erased_at": _iso(customer.erased_at),
            "figures": {
                "order_count": customer.order_count,
                "lifetime_value": str(customer.lifetime_value),
                "last_purchase_at": _iso(customer.last_purchase_at),
                "behaviour": customer.behaviour,
                "rfm_segment": customer.rfm_segment,
            },
        },
        "addresses": [
            {
                "id": address.pk,
                **{name: getattr(address, name) for name in ADDRESS_FIELDS},
                "latitude": str(address.latitude) if address.latitude is not None else None,
                "longitude": str(address.longitude) if address.longitude is not None else None,
                "is_default": address.is_default,
                "created_at": _iso(address.created_at),
            }
            for address in customer.addresses.all()
        ],
        "consents": [
            {
                "kind": consent.kind,
                "granted": consent.granted,
                "source": consent.source,
                "channel": consent.channel.code if consent.channel else None,
                "at": _iso(consent.at),
            }
            for consent in customer.consents.select_related("channel")
        ],
        "notes": [
            {
                "body": note.body,
                "channel": note.channel.code if note.channel else None,
                "created_at": _iso(note.created_at),
            }
            for note in customer.notes.select_related("channel")
        ],
    }
    for name, section in export_sections().items():
        data[name] = section(customer)
    return data


ERASURE_SOURCE = "erasure"


def customer_erase(*, customer: Customer, user: AbstractBaseUser | None = None) -> Customer:
    """Anonymise a customer (the "right to erasure") and keep what accounting must keep.

    The row stays (orders, payments and returns point at it) with no name, email, phone
    or tags; addresses, notes, sign-in codes and tokens are deleted; messages sent to them
    lose their recipient and text (queued ones are not sent). Consents are *kept* as an
    anonymous history (the proof of what was allowed when a message went out, which no
    longer names anyone), and a last "withdrawn" row per kind is added so nothing ever
    contacts this record again. ``customer_erased`` is sent so apps above blank the
    contact data they copied (orders' email, phone and shipping address).
    """
    from unicommerce.messaging.models import Message

    with transaction.atomic():
        customer = customer_lock(customer.pk)
        if customer.erased_at is not None:
            raise CustomerErased(customer)
        now = timezone.now()
        customer.first_name = customer.last_name = ""
        customer.email = customer.phone = None
        customer.tags = []
        customer.erased_at = now
        customer.save(
            update_fields=["first_name", "last_name", "email", "phone", "tags", "erased_at"]
        )
        customer.addresses.all().delete()
        customer.notes.all().delete()
        LoginCode.objects.filter(customer=customer).delete()
        AccessToken.objects.filter(customer=customer).delete()
        Consent.objects.bulk_create(
            Consent(
                customer=customer,
                kind=kind,
                granted=False,
                source=ERASURE_SOURCE,
                recorded_by=user if getattr(user, "pk", None) else None,
                at=now,
            )
            for kind in Consent.Kind.values
        )
        messages = Message.objects.filter(customer_id=customer.pk)
        messages.filter(status=Message.Status.QUEUED).update(
            status=Message.Status.FAILED, last_error="customer erased"
        )
        messages.update(to="", subject="", body="")
        customer_erased.send(sender=Customer, customer=customer, user=user)
    return customer
