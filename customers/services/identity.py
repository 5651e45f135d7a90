"""Recognise, create and keep one customer across channels.

``customer_identify`` is what every channel calls when someone gives an email and/or a
phone: it finds the customer (by phone, then email), fills in what was missing, or
creates one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.phones import phone_e164
from unicommerce.exceptions import DomainError, InvalidInput

if TYPE_CHECKING:
    from catalog.models import SalesChannel


class InvalidEmail(InvalidInput):
    code = "invalid_email"

    def __init__(self, raw: str) -> None:
        super().__init__(_("“%(email)s” is not a valid email address.") % {"email": raw}, email=raw)


class IdentityRequired(InvalidInput):
    code = "identity_required"

    def __init__(self) -> None:
        super().__init__(_("Give an email address or a phone number."))


class IdentityConflict(DomainError):
    code = "identity_conflict"
    http_status = 409

    def __init__(self, email: str, phone: str) -> None:
        super().__init__(
            _(
                "The email %(email)s and the phone %(phone)s belong to two different "
                "customers; merge them first."
            )
            % {"email": email, "phone": phone},
            email=email,
            phone=phone,
        )


def email_normalised(raw: str) -> str:
    """Trimmed and lower-cased (mailboxes are case-insensitive in practice), or InvalidEmail."""
    text = (raw or "").strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise InvalidEmail(raw) from None
    return text


def customer_find(*, email: str = "", phone: str = "") -> Customer | None:
    """The live customer with this phone or email (normalised first), or None."""
    filters = Q()
    if phone:
        filters |= Q(phone=phone_e164(phone))
    if email:
        filters |= Q(email=email_normalised(email))
    if not filters:
        raise IdentityRequired()
    found = list(Customer.objects.filter(filters, merged_into__isnull=True, erased_at__isnull=True))
    if not found:
        return None
    # The phone is the stronger identifier in a store; prefer the customer it names.
    found.sort(key=lambda c: (c.phone is None, c.pk))
    return found[0]


def customer_identify(
    *,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    channel: SalesChannel | None = None,
) -> tuple[Customer, bool]:
    """Find the customer with this email and/or phone, or create one. Missing details are
    filled in on the found customer. Returns (customer, created)."""
    e164 = phone_e164(phone) if phone else None
    address = email_normalised(email) if email else None
    if not e164 and not address:
        raise IdentityRequired()
    with transaction.atomic():
        matches = list(
            Customer.objects.select_for_update()
            .filter(
                (Q(phone=e164) if e164 else Q(pk__in=[]))
                | (Q(email=address) if address else Q(pk__in=[]))
            )
            .order_by("pk")
        )
        if len(matches) > 1:
            raise IdentityConflict(address or "", e164 or "")
        if matches:
            customer = matches[0]
            changed = []
            for field, value in (
                ("phone", e164),
                ("email", address),
                ("first_name", first_name.strip()),
                ("last_name", last_name.strip()),
            ):
                if value and not getattr(customer, field):
                    setattr(customer, field, value)
                    changed.append(field)
            if changed:
                customer.save(update_fields=[*changed, "updated_at"])
            return customer, False
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    email=address,
                    phone=e164,
                    first_name=first_name.strip(),
                    last_name=last_name.strip(),
                    source_channel=channel,
                )
        except IntegrityError:
            # Created by a concurrent call a moment ago: it is the same person.
            found = customer_find(email=address or "", phone=e164 or "")
            if found is None:
                raise
            return found, False
        return customer, True
