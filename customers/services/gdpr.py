"""GDPR, customers' part: what customers keeps of a person for the export, and its part
of an erasure (anonymise them, keep what accounting must keep). The export and the
erasure themselves are crm's (``crm.selectors.customer_export``,
``crm.services.erasure.customer_erase``): they call this module, then every other app's
part."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.exceptions import CustomerErased
from customers.locks import customer_lock
from customers.models import AccessToken, Address, Consent, Customer, CustomerNote, LoginCode
from customers.services.profile import ADDRESS_FIELDS

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser


# --- GDPR: export and erase -----------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def customers_customer_export(customer: Customer) -> dict[str, Any]:
    """customers' part of the GDPR export, JSON-able: the profile, addresses, the whole
    consent history and notes (``crm.selectors.customer_export`` adds the other apps')."""
    return {
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


ERASURE_SOURCE = "erasure"
ERASED = "[erased]"


@dataclass(frozen=True)
class ErasedIdentity:
    """What an erased customer was known by, gathered before their row is blanked, so
    that each app can find the copies no key links to them (a provider's webhook, an
    API answer kept for replays, an admin log line) and blank them.

    ``patterns`` find such copies: the e-mail addresses, the phone numbers (E.164 and
    the national forms, with and without spaces) and the full names. ``scrub(value)``
    replaces, in a JSON-able value, every string containing one of those or a first
    or last name on its own with ``ERASED``; keys are kept, so the shape stays."""

    emails: tuple[str, ...]
    phones: tuple[str, ...]
    full_names: tuple[str, ...]
    name_parts: tuple[str, ...]

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.emails, *self.phones, *self.full_names)))

    def ilike_any(self) -> list[str]:
        """The patterns for ``… ILIKE ANY(%s)`` (the % and _ of the values escaped)."""
        return [f"%{_like_escaped(value)}%" for value in self.patterns]

    def _regex(self) -> re.Pattern | None:
        words = [*self.patterns, *self.name_parts]
        if not words:
            return None
        return re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)

    def mentioned_in(self, text: str) -> bool:
        regex = self._regex()
        return bool(regex and regex.search(text or ""))

    def scrub(self, value: Any) -> Any:
        regex = self._regex()
        if regex is None:
            return value

        def clean(item: Any) -> Any:
            if isinstance(item, str):
                return ERASED if regex.search(item) else item
            if isinstance(item, dict):
                return {key: clean(inner) for key, inner in item.items()}
            if isinstance(item, list):
                return [clean(inner) for inner in item]
            return item

        return clean(value)


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _phone_forms(e164: str) -> list[str]:
    """``+33612345678``, ``06 12 34 56 78`` and ``0612345678``: the ways a number is
    written in what others send us."""
    forms = [e164]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms += [national, re.sub(r"\D", "", national)]
    return [form for form in dict.fromkeys(forms) if len(re.sub(r"\D", "", form)) >= 6]


def _merged_ids(customer: Customer) -> list[int]:
    """The customers merged into this one, and into those, and so on."""
    found: list[int] = []
    frontier = [customer.pk]
    while frontier:
        frontier = list(
            Customer.objects.filter(merged_into_id__in=frontier)
            .exclude(pk__in=[customer.pk, *found])
            .values_list("pk", flat=True)
        )
        found += frontier
    return found


def erased_identity(customer: Customer, *, merged_ids: Iterable[int] = ()) -> ErasedIdentity:
    """What ``customer`` (and the customers merged into them) were known by: their
    e-mail, phone and names, and the recipients of the messages sent to any of them
    (a merged-away duplicate's former address lives on only there)."""
    from unicommerce.messaging.models import Message

    ids = [customer.pk, *merged_ids]
    people = list(Customer.objects.filter(pk__in=ids))
    emails = {c.email.lower() for c in people if c.email}
    phones = {c.phone for c in people if c.phone}
    for to in (
        Message.objects.filter(customer_id__in=ids).exclude(to="").values_list("to", flat=True)
    ):
        (phones if to.startswith("+") else emails).add(to.strip().lower())
    names = {(c.first_name.strip(), c.last_name.strip()) for c in people}
    return ErasedIdentity(
        emails=tuple(sorted(emails)),
        phones=tuple(form for phone in sorted(phones) for form in _phone_forms(phone)),
        full_names=tuple(sorted({f"{first} {last}" for first, last in names if first and last})),
        name_parts=tuple(sorted({part for pair in names for part in pair if len(part) >= 2})),
    )


def admin_log_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> int:
    """Blank what the admin's history (``LogEntry``) says of the customers: the name
    shown for their own rows, and any line whose text names them (an address, an order
    changed in the admin). Who did what and when stays. Returns the rows changed."""
    customer_type = ContentType.objects.get_for_model(Customer)
    named = Q()
    for pattern in identity.patterns:
        named |= Q(object_repr__icontains=pattern) | Q(change_message__icontains=pattern)
    own = Q(content_type=customer_type, object_id__in=[str(pk) for pk in customer_ids])
    changed = 0
    for entry in LogEntry.objects.filter(own | named if identity.patterns else own):
        entry.object_repr = (
            f"#{entry.object_id}" if entry.content_type_id == customer_type.pk else ERASED
        )
        entry.change_message = _change_message_scrubbed(entry.change_message, identity)
        entry.save(update_fields=["object_repr", "change_message"])
        changed += 1
    return changed


def _change_message_scrubbed(message: str, identity: ErasedIdentity) -> str:
    try:
        document = json.loads(message or "[]")
    except ValueError:
        return ERASED if identity.mentioned_in(message) else message
    return json.dumps(identity.scrub(document), ensure_ascii=False)


@dataclass(frozen=True)
class Erasure:
    """What customers' part of an erasure hands to the other apps' parts: the customer
    (locked, blanked), every id erased (theirs and those of the customers once merged
    into them) and what they were known by."""

    customer: Customer
    customer_ids: list[int]
    identity: ErasedIdentity


@transaction.atomic
def customers_customer_erase(
    *, customer: Customer, user: AbstractBaseUser | None = None
) -> Erasure:
    """customers' part of the right to erasure (``crm.services.erasure.customer_erase``
    calls it first, then every other app's part, in one transaction).

    The row stays (orders, payments and returns point at it) with no name, email, phone
    or tags, and so do the rows of the customers once merged into it; addresses, notes,
    sign-in codes and tokens are deleted; the admin's history no longer names them.
    Consents are *kept* as an anonymous history (the proof of what was allowed when a
    message went out, which no longer names anyone), and a last "withdrawn" row per kind
    is added so nothing ever contacts this record again. ``CustomerErased`` if it was."""
    customer = customer_lock(customer.pk)
    if customer.erased_at is not None:
        raise CustomerErased(customer)
    merged_ids = _merged_ids(customer)
    identity = erased_identity(customer, merged_ids=merged_ids)
    customer_ids = [customer.pk, *merged_ids]
    now = timezone.now()
    customer.first_name = customer.last_name = ""
    customer.email = customer.phone = None
    customer.tags = []
    customer.erased_at = now
    customer.save(update_fields=["first_name", "last_name", "email", "phone", "tags", "erased_at"])
    Customer.objects.filter(pk__in=merged_ids).update(
        first_name="", last_name="", email=None, phone=None, tags=[], erased_at=now
    )
    for model in (Address, CustomerNote, LoginCode, AccessToken):
        model.objects.filter(customer_id__in=customer_ids).delete()
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
    admin_log_customer_erase(customer_ids=customer_ids, identity=identity)
    return Erasure(customer=customer, customer_ids=customer_ids, identity=identity)


# --- Retention ------------------------------------------------------------------------


def login_codes_prune(*, now: datetime | None = None) -> int:
    """Delete sign-in codes used or expired, and access tokens revoked or expired, more
    than ``LOGIN_CODE_KEEP_DAYS`` ago, in batches (``unicommerce.retention``): a live
    code or token is never touched. Returns how many rows went."""
    from datetime import timedelta

    from django.conf import settings

    from unicommerce.retention import rows_prune

    now = now or timezone.now()
    before = now - timedelta(days=int(settings.LOGIN_CODE_KEEP_DAYS))
    codes = LoginCode.objects.filter(Q(used_at__lt=before) | Q(expires_at__lt=before))
    tokens = AccessToken.objects.filter(Q(revoked_at__lt=before) | Q(expires_at__lt=before))
    return rows_prune(codes) + rows_prune(tokens)
