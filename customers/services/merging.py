"""Duplicates and merging: find customers who may be one person, and customers' part of
making two records one (the merge is ``crm.services.merging.customer_merge``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exceptions import MergeConflict, MergeRefused
from customers.locks import customers_lock
from customers.models import AccessToken, Address, Consent, Customer, CustomerNote, LoginCode

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model


# --- Merging ---------------------------------------------------------------------------


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
