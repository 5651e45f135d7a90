"""Duplicates and merging: find customers who may be one person, and customers' part of
making two records one (the merge is ``crm.services.merging.customer_merge``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers.exceptions import MergeConflict, MergeRefused
from customers.locks import customers_lock
from customers.models import AccessToken, Address, Consent, Customer, CustomerNote, LoginCode
from customers.phones import phone_e164
from unicommerce.exceptions import InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model


# --- Errors ---------------------------------------------------------------------------


# --- Duplicates -----------------------------------------------------------------------


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


def customers_merge_lock(*, survivor: Customer, duplicate: Customer) -> tuple[Customer, Customer]:
    """Both customers re-read under a lock (primary-key order), for a merge of
    ``duplicate`` into ``survivor``: refused (``MergeRefused``) when they are the same
    one, when one is gone, erased, or already merged. Call it inside the merge's
    transaction."""
    if survivor.pk == duplicate.pk:
        raise MergeRefused(_("A customer cannot be merged into themselves."))
    locked = customers_lock([survivor.pk, duplicate.pk])
    if len(locked) != 2:
        raise MergeRefused(_("One of these customers no longer exists."))
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    for customer in (survivor, duplicate):
        if customer.erased_at is not None:
            raise MergeRefused(
                _("Customer #%(id)s was erased and cannot be merged.") % {"id": customer.pk},
                customer_id=customer.pk,
            )
        if customer.merged_into_id is not None:
            raise MergeRefused(
                _("Customer #%(id)s was already merged into #%(into)s.")
                % {"id": customer.pk, "into": customer.merged_into_id},
                customer_id=customer.pk,
            )
    return survivor, duplicate


def customer_rows_reassign(
    model: type[Model], *, survivor: Customer, duplicate: Customer, field: str = "customer"
) -> int:
    """Point ``model``'s rows at ``survivor`` instead of ``duplicate`` through its key
    ``field``. ``MergeConflict`` (nothing moved) when a uniqueness rule of ``model``
    forbids it: one row per customer that both have, or any unique constraint. For the
    apps' ``<app>_customer_reassign``; returns the rows moved."""
    rows = model._base_manager.filter(**{field: duplicate.pk})
    if (
        model._meta.get_field(field).one_to_one
        and model._base_manager.filter(**{field: survivor.pk}).exists()
    ):
        raise MergeConflict(
            _("Both customers have a %(model)s; one must go before merging.")
            % {"model": model._meta.verbose_name},
            model=model._meta.label,
        )
    try:
        with transaction.atomic():
            return rows.update(**{field: survivor.pk})
    except IntegrityError:
        raise MergeConflict(
            _("The %(model)s rows of both customers cannot be put together.")
            % {"model": model._meta.verbose_name_plural},
            model=model._meta.label,
        ) from None


# customers' own models that point at a customer, moved by ``customers_customer_reassign``
# (``merged_into``: the customers once merged into the duplicate now point at the survivor).
REASSIGNED = [
    (Address, "customer"),
    (Consent, "customer"),
    (CustomerNote, "customer"),
    (LoginCode, "customer"),
    (AccessToken, "customer"),
    (Customer, "merged_into"),
]


def customers_customer_reassign(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> dict[str, int]:
    """customers' part of a merge (both rows locked by ``customers_merge_lock``): the
    duplicate's addresses, consents, notes, sign-in codes and tokens, and the customers
    once merged into it, follow the survivor; the duplicate's email, phone, names, tags
    and first channel fill what the survivor lacks; the duplicate keeps its row, marked
    ``merged_into`` and without contact details; a note on the survivor says so.

    The survivor's default address stays the default; consents keep their dates, so the
    latest decision of either wins. Returns the rows moved, by model."""
    if Address.objects.filter(customer=survivor, is_default=True).exists():
        Address.objects.filter(customer=duplicate, is_default=True).update(is_default=False)
    moved = {
        model._meta.label: customer_rows_reassign(
            model, survivor=survivor, duplicate=duplicate, field=field
        )
        for model, field in REASSIGNED
    }
    taken = {
        field: getattr(duplicate, field)
        for field in ("email", "phone", "first_name", "last_name")
        if getattr(duplicate, field) and not getattr(survivor, field)
    }
    Customer.objects.filter(pk=duplicate.pk).update(
        merged_into=survivor, email=None, phone=None, updated_at=timezone.now()
    )
    for field, value in taken.items():
        setattr(survivor, field, value)
    survivor.tags = sorted(set(survivor.tags) | set(duplicate.tags))
    if survivor.source_channel_id is None:
        survivor.source_channel_id = duplicate.source_channel_id
    survivor.save(update_fields=[*taken, "tags", "source_channel", "updated_at"])
    duplicate.merged_into, duplicate.email, duplicate.phone = survivor, None, None
    CustomerNote.objects.create(
        customer=survivor,
        author=user if getattr(user, "pk", None) else None,
        body=_("Customer #%(id)s (%(name)s) merged into this one.")
        % {"id": duplicate.pk, "name": str(duplicate)},
    )
    return moved
