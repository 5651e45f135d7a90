"""Customers' reads: a customer found by their contact details, their consents, and the
pairs that may be one person. Nothing here writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _lazy

from customers.emails import email_normalised
from customers.exceptions import IdentityRequired
from customers.models import Address, Consent, Customer
from customers.phones import phone_e164
from unicommerce.exceptions import InvalidInput


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


def customer_consents(customer: Customer) -> dict[str, Consent | None]:
    """The consent holding now for each kind (None: never asked), in one query."""
    current: dict[str, Consent | None] = dict.fromkeys(Consent.Kind.values)
    latest = (
        Consent.objects.filter(customer=customer)
        .order_by("kind", "-at", "-id")
        .distinct("kind")
        .select_related("channel")
    )
    for consent in latest:
        current[consent.kind] = consent
    return current


@dataclass(frozen=True)
class DuplicateCandidate:
    """Two live customers who may be one person, and why we think so."""

    first: Customer
    second: Customer
    reasons: tuple[str, ...]


class DuplicateReason:
    EMAIL = "same_email"  # the same address, written with other case or spaces
    PHONE = "same_phone"  # the same number, written in another format
    NAME_PHONE = "same_name_and_phone_end"  # same names, phone ending with the same 8 digits
    NAME_POSTAL_CODE = "same_name_and_postal_code"  # same names, an address in one postcode
    NAME_EMAIL_VS_PHONE = "same_name_email_vs_phone"  # one known by email, one by phone

    labels = {
        EMAIL: _lazy("same email address"),
        PHONE: _lazy("same phone number"),
        NAME_PHONE: _lazy("same name, phone ending with the same 8 digits"),
        NAME_POSTAL_CODE: _lazy("same name and an address in the same postal code"),
        NAME_EMAIL_VS_PHONE: _lazy("same name, one known by email, the other by phone"),
    }


_DUPLICATES_SQL = """
WITH live AS (
    SELECT c.id, c.email, c.phone,
           lower(btrim(c.email)) AS email_key,
           NULLIF(right(regexp_replace(coalesce(c.phone, ''), '[^0-9]', '', 'g'), 9), '')
               AS phone_tail9,
           NULLIF(right(regexp_replace(coalesce(c.phone, ''), '[^0-9]', '', 'g'), 8), '')
               AS phone_tail8,
           NULLIF(lower(btrim(c.first_name)), '') AS first_key,
           NULLIF(lower(btrim(c.last_name)), '') AS last_key
      FROM {customer} c
     WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
)
SELECT a.id, b.id, %(email)s
  FROM live a JOIN live b ON a.email_key = b.email_key AND a.id < b.id
UNION ALL
SELECT a.id, b.id, %(phone)s
  FROM live a JOIN live b ON a.phone_tail9 = b.phone_tail9 AND a.id < b.id
UNION ALL
SELECT a.id, b.id, %(name_phone)s
  FROM live a JOIN live b
    ON a.first_key = b.first_key AND a.last_key = b.last_key AND a.id < b.id
   AND a.phone_tail8 = b.phone_tail8
UNION ALL
SELECT DISTINCT a.id, b.id, %(name_postal_code)s
  FROM live a JOIN live b
    ON a.first_key = b.first_key AND a.last_key = b.last_key AND a.id < b.id
  JOIN {address} aa ON aa.customer_id = a.id
  JOIN {address} ba ON ba.customer_id = b.id
   AND upper(replace(ba.postal_code, ' ', '')) = upper(replace(aa.postal_code, ' ', ''))
UNION ALL
SELECT a.id, b.id, %(name_email_phone)s
  FROM live a JOIN live b
    ON a.first_key = b.first_key AND a.last_key = b.last_key AND a.id <> b.id
   AND ((a.email IS NOT NULL AND a.phone IS NULL AND b.phone IS NOT NULL AND b.email IS NULL))
 ORDER BY 1, 2
"""


def _same_phone(first: str, second: str) -> bool:
    try:
        return phone_e164(first) == phone_e164(second)
    except InvalidInput:
        digits = [re.sub(r"\D", "", number) for number in (first, second)]
        return digits[0] == digits[1]


def customer_duplicates(*, limit: int = 200) -> list[DuplicateCandidate]:
    """Pairs of live (not merged, not erased) customers who may be the same person, with
    the reasons, for a person to review and merge:

    - the same email once trimmed and lower-cased (data imported before normalisation);
    - the same phone number written in another format (``06 12…`` / ``+33 6 12…``):
      same last 9 digits, confirmed by parsing both;
    - the same first and last name, and phones ending with the same 8 digits;
    - the same first and last name, and an address in the same postal code;
    - the same first and last name, one known only by email, the other only by phone.
    """
    sql = _DUPLICATES_SQL.format(customer=Customer._meta.db_table, address=Address._meta.db_table)
    params = {
        "email": DuplicateReason.EMAIL,
        "phone": DuplicateReason.PHONE,
        "name_phone": DuplicateReason.NAME_PHONE,
        "name_postal_code": DuplicateReason.NAME_POSTAL_CODE,
        "name_email_phone": DuplicateReason.NAME_EMAIL_VS_PHONE,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    reasons: dict[tuple[int, int], list[str]] = {}
    for first_id, second_id, reason in rows:
        pair = (min(first_id, second_id), max(first_id, second_id))
        found = reasons.setdefault(pair, [])
        if reason not in found:
            found.append(reason)
    pairs = sorted(reasons)[: limit * 2]
    ids = {customer_id for pair in pairs for customer_id in pair}
    customers = Customer.objects.in_bulk(ids)
    candidates = []
    for pair in pairs:
        first, second = customers[pair[0]], customers[pair[1]]
        kept = list(reasons[pair])
        if DuplicateReason.PHONE in kept and not _same_phone(first.phone, second.phone):
            kept.remove(DuplicateReason.PHONE)
        if kept:
            candidates.append(DuplicateCandidate(first, second, tuple(kept)))
    return candidates[:limit]


# --- Merge: customers' part -----------------------------------------------------------
#
# The merge itself is crm's (``crm.services.merging.customer_merge``): it locks and checks
# both customers here, then calls each app's ``<app>_customer_reassign`` in turn, this
# module's first, in one transaction.
