"""Recognise, create and keep one customer across channels.

``customer_identify`` is what every channel calls when someone gives an email and/or a
phone: it finds the customer (by phone, then email) or creates one, and fills in what was
missing only when the details are verified (docs/permissions.md, "Identity").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q

from customers.emails import email_normalised
from customers.exceptions import IdentityConflict, IdentityRequired
from customers.models import Customer
from customers.phones import phone_e164
from customers.selectors import customer_find

if TYPE_CHECKING:
    from unicommerce.channels.models import SalesChannel


def customer_identify(
    *,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    channel: SalesChannel | None = None,
    verified: bool = False,
) -> tuple[Customer, bool]:
    """Find the customer with this email and/or phone, or create one. Returns
    (customer, created).

    ``verified``: the details come from someone who has shown they are this customer (a
    seller who sees them at the till, the customer's own signed-in token): missing
    details are then filled in on the customer found, and an email and a phone naming
    two customers is an ``IdentityConflict``. Unverified details (anything typed on a
    storefront, where anyone may type anyone's phone) never change an existing customer
    and never say whether one exists: the customer named by the phone (else the email)
    is returned as it is."""
    e164 = phone_e164(phone) if phone else None
    address = email_normalised(email) if email else None
    if not e164 and not address:
        raise IdentityRequired()
    with transaction.atomic():
        matches = list(
            Customer.objects.select_for_update()
            .filter(
                (Q(phone=e164) if e164 else Q(pk__in=[]))
                | (Q(email=address) if address else Q(pk__in=[])),
                merged_into__isnull=True,
                erased_at__isnull=True,
            )
            .order_by("pk")
        )
        if len(matches) > 1 and verified:
            raise IdentityConflict(address or "", e164 or "")
        if matches:
            # The phone is the stronger identifier in a store.
            customer = sorted(matches, key=lambda c: (c.phone != e164, c.pk))[0]
            if verified:
                _fill_missing(
                    customer,
                    phone=e164,
                    email=address,
                    first_name=first_name.strip(),
                    last_name=last_name.strip(),
                )
            return customer, False
        return _customer_create(
            email=address,
            phone=e164,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            channel=channel,
        )


def _customer_create(
    *,
    email: str | None,
    phone: str | None,
    first_name: str,
    last_name: str,
    channel: SalesChannel | None,
) -> tuple[Customer, bool]:
    """A new customer (``created``), or the one a concurrent call created a moment ago
    with this phone or email."""
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                email=email,
                phone=phone,
                first_name=first_name,
                last_name=last_name,
                source_channel=channel,
            )
    except IntegrityError:
        # Created by a concurrent call a moment ago: it is the same person.
        found = customer_find(email=email or "", phone=phone or "")
        if found is None:
            raise
        return found, False
    return customer, True


def _fill_missing(customer: Customer, **values: str | None) -> None:
    changed = []
    for field, value in values.items():
        if value and not getattr(customer, field):
            setattr(customer, field, value)
            changed.append(field)
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
