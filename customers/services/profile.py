"""A customer's record: consents (an append-only history), addresses, notes, tags,
names and contact details. Every face (admin, API, POS) changes them through here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers.emails import email_normalised
from customers.exceptions import (
    AddressInvalid,
    CustomerErased,
    CustomerIdentityTaken,
    CustomerMerged,
    IdentityRequired,
    InvalidConsentKind,
)
from customers.locks import customer_lock
from customers.models import Address, Consent, Customer, CustomerNote
from customers.phones import phone_e164
from unicommerce.exceptions import InvalidInput

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel


# --- Small helpers --------------------------------------------------------------------


def _live(customer: Customer) -> None:
    """CustomerErased if the customer is erased (asked of the database: the object in
    hand may predate the erasure)."""
    state = Customer.objects.filter(pk=customer.pk).values("erased_at", "merged_into").first()
    if state is not None:
        customer.erased_at = state["erased_at"]
        customer.merged_into_id = state["merged_into"]
    if customer.erased_at is not None:
        raise CustomerErased(customer)


# --- Consents (append-only) -----------------------------------------------------------


def consent_record(
    *,
    customer: Customer,
    kind: str,
    granted: bool,
    source: str,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    at: datetime | None = None,
) -> Consent:
    """Record a decision of the customer. Rows are never changed: the latest per kind is
    what holds now (``customer_consents``), the older ones are the proof of what held."""
    _live(customer)
    if kind not in Consent.Kind.values:
        raise InvalidConsentKind(kind)
    source = (source or "").strip()[:100]
    if not source:
        raise InvalidInput(_("Say where the consent was given (web form, till…)."), field="source")
    return Consent.objects.create(
        customer=customer,
        kind=kind,
        granted=bool(granted),
        source=source,
        channel=channel,
        recorded_by=user if getattr(user, "pk", None) else None,
        at=at or timezone.now(),
    )


# --- Addresses ------------------------------------------------------------------------

ADDRESS_FIELDS = (
    "label",
    "first_name",
    "last_name",
    "line1",
    "line2",
    "postal_code",
    "city",
    "country",
    "phone",
    "latitude",
    "longitude",
)
_ADDRESS_REQUIRED = {
    "line1": _lazy("Give the street address."),
    "postal_code": _lazy("Give the postal code."),
    "city": _lazy("Give the city."),
}


def _address_clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("latitude", "longitude"):
            cleaned[name] = value
            continue
        text = ("" if value is None else str(value)).strip()
        max_length = Address._meta.get_field(name).max_length
        if max_length and len(text) > max_length:
            raise AddressInvalid(
                name,
                _("At most %(count)s characters.") % {"count": max_length},
            )
        cleaned[name] = text
    for name, message in _ADDRESS_REQUIRED.items():
        if name in cleaned and not cleaned[name]:
            raise AddressInvalid(name, str(message))
    if "country" in cleaned:
        country = cleaned["country"].upper()
        if len(country) != 2 or not country.isalpha():
            raise AddressInvalid("country", _("A country is a two-letter ISO code (FR, BE…)."))
        cleaned["country"] = country
    return cleaned


def _address_phone(phone: str, country: str) -> str:
    return phone_e164(phone, region=country) if phone else ""


def address_add(
    *,
    customer: Customer,
    line1: str,
    postal_code: str,
    city: str,
    country: str = "FR",
    label: str = "",
    first_name: str = "",
    last_name: str = "",
    line2: str = "",
    phone: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    is_default: bool = False,
) -> Address:
    """Add an address; the customer's first address becomes the default one."""
    _live(customer)
    values = _address_clean(
        {
            "label": label,
            "first_name": first_name,
            "last_name": last_name,
            "line1": line1,
            "line2": line2,
            "postal_code": postal_code,
            "city": city,
            "country": country,
            "phone": phone,
            "latitude": latitude,
            "longitude": longitude,
        }
    )
    values["phone"] = _address_phone(values["phone"], values["country"])
    with transaction.atomic():
        customer_lock(customer.pk)
        has_default = Address.objects.filter(customer=customer, is_default=True).exists()
        if is_default and has_default:
            Address.objects.filter(customer=customer, is_default=True).update(is_default=False)
        return Address.objects.create(
            customer=customer, is_default=is_default or not has_default, **values
        )


def address_update(*, address: Address, **changes: Any) -> Address:
    """Change some fields of an address (names from ``ADDRESS_FIELDS``)."""
    unknown = sorted(set(changes) - set(ADDRESS_FIELDS))
    if unknown:
        raise InvalidInput(
            _("Unknown address fields: %(fields)s.") % {"fields": ", ".join(unknown)},
            fields=unknown,
        )
    _live(address.customer)
    values = _address_clean(changes)
    if "phone" in values or "country" in values:
        country = values.get("country", address.country)
        phone = values.get("phone", address.phone)
        values["phone"] = _address_phone(phone, country)
    for name, value in values.items():
        setattr(address, name, value)
    if values:
        address.save(update_fields=list(values))
    return address


def address_delete(*, address: Address) -> None:
    """Delete an address; if it was the default, the oldest remaining one takes over."""
    with transaction.atomic():
        customer_lock(address.customer_id)
        was_default = address.is_default
        customer_id = address.customer_id
        address.delete()
        if was_default:
            successor = Address.objects.filter(customer_id=customer_id).order_by("id").first()
            if successor is not None:
                Address.objects.filter(pk=successor.pk).update(is_default=True)


def address_set_default(*, address: Address) -> Address:
    with transaction.atomic():
        customer_lock(address.customer_id)
        Address.objects.filter(customer_id=address.customer_id, is_default=True).exclude(
            pk=address.pk
        ).update(is_default=False)
        Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True
    return address


# --- Notes, tags, profile -------------------------------------------------------------


def customer_note_add(
    *,
    customer: Customer,
    body: str,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> CustomerNote:
    _live(customer)
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("A note cannot be empty."), field="body")
    return CustomerNote.objects.create(
        customer=customer,
        body=body,
        author=user if getattr(user, "pk", None) else None,
        channel=channel,
    )


TAG_MAX_LENGTH = 50


def tags_normalised(tags: list[str] | tuple[str, ...] | str) -> list[str]:
    """Trimmed, lower-case, without duplicates, sorted; a string is split on commas."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = {" ".join(str(tag).split()).lower() for tag in tags}
    cleaned.discard("")
    too_long = sorted(tag for tag in cleaned if len(tag) > TAG_MAX_LENGTH)
    if too_long:
        raise InvalidInput(
            _("A tag has at most %(count)s characters.") % {"count": TAG_MAX_LENGTH},
            field="tags",
            tags=too_long,
        )
    return sorted(cleaned)


def customer_tags_set(*, customer: Customer, tags: list[str] | tuple[str, ...] | str) -> Customer:
    _live(customer)
    customer.tags = tags_normalised(tags)
    customer.save(update_fields=["tags", "updated_at"])
    return customer


_UNSET: Any = object()


def customer_update(
    *,
    customer: Customer,
    first_name: str = _UNSET,
    last_name: str = _UNSET,
    email: str | None = _UNSET,
    phone: str | None = _UNSET,
) -> Customer:
    """Change a customer's names and contact details. An email or phone is normalised
    (InvalidEmail / InvalidPhone), an empty one removes it (IdentityRequired if neither
    is left), one that another customer has is refused (CustomerIdentityTaken)."""
    _live(customer)
    if customer.merged_into_id is not None:
        raise CustomerMerged(customer)
    changes: dict[str, Any] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not _UNSET:
            text = (value or "").strip()
            if len(text) > Customer._meta.get_field(field).max_length:
                raise InvalidInput(_("This name is too long."), field=field)
            changes[field] = text
    if email is not _UNSET:
        changes["email"] = email_normalised(email) if email and email.strip() else None
    if phone is not _UNSET:
        changes["phone"] = phone_e164(phone) if phone and phone.strip() else None
    email_after = changes.get("email", customer.email)
    phone_after = changes.get("phone", customer.phone)
    if not email_after and not phone_after:
        raise IdentityRequired()
    for field in ("email", "phone"):
        value = changes.get(field)
        if value and Customer.objects.filter(**{field: value}).exclude(pk=customer.pk).exists():
            raise CustomerIdentityTaken(field, value)
    if not changes:
        return customer
    for field, value in changes.items():
        setattr(customer, field, value)
    try:
        with transaction.atomic():
            customer.save(update_fields=[*changes, "updated_at"])
    except IntegrityError:
        # Taken by a concurrent update between the check and the save.
        customer.refresh_from_db()
        field = "email" if "email" in changes else "phone"
        raise CustomerIdentityTaken(field, str(changes[field])) from None
    return customer
