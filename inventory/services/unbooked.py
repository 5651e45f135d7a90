"""Selling an item the books say is not here (it is in the customer's hand).

The no-oversell rule holds for every channel, with one exception at a store's own till:
the seller may sell a unit the books do not have, if the store's policy
(``Location.unbooked_sale_policy``) allows it, with a reason, and — if the policy asks —
a manager's approval typed on the till. The override (``UnbookedSale``) is granted for one
cart line and a number of units beyond what the books have free there; the sale consumes
it once (``unbooked_sales_use``, inside the stock operation, under the same locks), the
ledger row points at it, ``on_hand`` goes below zero visibly, and a "below zero" stock
alert asks the store to count the variant. What channels may sell never counts below
zero (``available`` is clamped), and no remote channel can do any of this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from inventory.exceptions import UnbookedSaleInvalid, UnbookedSaleRefused
from inventory.models import Location, StockAlert, StockLevel, UnbookedSale
from inventory.selectors import staff_acts_at

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from inventory.locks import LevelChange

APPROVE_PERMISSION = "inventory.approve_unbooked_sale"
Policy = Location.UnbookedSalePolicy
Reason = UnbookedSale.Reason


def unbooked_reason_clean(*, reason: str, note: str) -> tuple[str, str]:
    """The reason code and its details, or ``UnbookedSaleInvalid`` (400): one of the
    reasons, and "other" says why in words."""
    note = (note or "").strip()[:255]
    if reason not in Reason.values:
        raise UnbookedSaleInvalid(_("Choose why the item is not in the books."), field="reason")
    if reason == Reason.OTHER and not note:
        raise UnbookedSaleInvalid(
            _("Say in a few words why the item is not in the books."), field="note"
        )
    return reason, note


def unbooked_policy_check(*, location: Location, seller: AbstractBaseUser) -> str:
    """The store's policy, if it lets ``seller`` sell what the books say is not here at
    ``location`` (its own till: an active store they act at); ``UnbookedSaleRefused``
    (403) otherwise."""
    if location.kind != Location.Kind.STORE or not location.is_active:
        raise UnbookedSaleRefused(
            _("%(location)s is not an open store.") % {"location": location.name}
        )
    if location.unbooked_sale_policy == Policy.REFUSE:
        raise UnbookedSaleRefused(
            _("%(store)s does not sell items the books say are not here.")
            % {"store": location.name}
        )
    if not staff_acts_at(seller, location.pk) or not seller.has_perm("pos.sell"):
        raise UnbookedSaleRefused(
            _("Only the staff of %(store)s sell from its shelves.") % {"store": location.name}
        )
    return location.unbooked_sale_policy


def approver_check(
    *, approver: AbstractBaseUser | None, seller: AbstractBaseUser, location: Location
) -> None:
    """A manager of this store (or head office), active, allowed to approve, and not the
    seller: ``UnbookedSaleRefused`` (403) otherwise. ``inventory.services.approval``
    checks the same at the till before this; the service checks again for every face."""
    if approver is None:
        raise UnbookedSaleRefused(
            _("%(store)s asks for a manager's approval.") % {"store": location.name}
        )
    if approver.pk == seller.pk:
        raise UnbookedSaleRefused(_("A seller cannot approve their own sale: ask a manager."))
    if (
        not approver.is_active
        or not approver.has_perm(APPROVE_PERMISSION)
        or not staff_acts_at(approver, location.pk)
    ):
        raise UnbookedSaleRefused(
            _("%(name)s may not approve sales at %(store)s.")
            % {"name": approver.get_username(), "store": location.name}
        )


@transaction.atomic
def unbooked_sale_grant(
    *,
    variant_id: int,
    location: Location,
    quantity: int,
    reason: str,
    note: str,
    reference: str,
    seller: AbstractBaseUser,
    approver: AbstractBaseUser | None,
) -> UnbookedSale:
    """Let the sale of ``reference`` (a cart line) take ``quantity`` units of this
    variant beyond what the books have free at ``location``, per the store's policy.
    A previous override of the same line not yet used is voided (one at a time)."""
    policy = unbooked_policy_check(location=location, seller=seller)
    reason, note = unbooked_reason_clean(reason=reason, note=note)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise UnbookedSaleInvalid(_("The books have enough of it: sell it as usual."))
    if policy == Policy.APPROVAL:
        approver_check(approver=approver, seller=seller, location=location)
    else:
        approver = None  # a reason is all this store asks; nobody else is named
    UnbookedSale.objects.filter(reference=reference, status=UnbookedSale.Status.GRANTED).update(
        status=UnbookedSale.Status.VOID
    )
    return UnbookedSale.objects.create(
        variant_id=variant_id,
        location=location,
        quantity=quantity,
        reason=reason,
        note=note,
        reference=reference,
        seller=seller,
        approver=approver,
    )


def unbooked_sales_granted(
    *, references: Iterable[str], location_id: int
) -> dict[str, UnbookedSale]:
    """{reference: the override granted and not yet used} at this location (one query)."""
    references = list(references)
    if not references:
        return {}
    granted = UnbookedSale.objects.filter(
        reference__in=references, location_id=location_id, status=UnbookedSale.Status.GRANTED
    ).select_related("approver", "seller")
    return {sale.reference: sale for sale in granted}


def unbooked_sales_use(*, sale_ids: Mapping[int, int], location_id: int) -> dict[int, UnbookedSale]:
    """Lock the overrides ``{variant_id: id}`` (id order), check each is still granted
    for that variant at this location, and mark them used in this transaction: the
    stock trigger lets a level go below zero only for an override used in the same
    transaction. Returns ``{variant_id: override}`` with its allowance. Must run inside
    the caller's transaction, before the stock rows are touched."""
    if not sale_ids:
        return {}
    sales = {
        sale.pk: sale
        for sale in UnbookedSale.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(sale_ids.values()))
        .select_related("approver", "seller")
        .order_by("pk")
    }
    used: dict[int, UnbookedSale] = {}
    for variant_id, sale_id in sale_ids.items():
        sale = sales.get(sale_id)
        if (
            sale is None
            or sale.status != UnbookedSale.Status.GRANTED
            or sale.variant_id != variant_id
            or sale.location_id != location_id
        ):
            raise UnbookedSaleRefused(
                _("This approval was already used or replaced: ask for a new one.")
            )
        used[variant_id] = sale
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {UnbookedSale._meta.db_table}
               SET status = %s, used_at = now(), used_xid = pg_current_xact_id()::text::bigint
             WHERE id = ANY(%s::bigint[])
            RETURNING id, used_at, used_xid
            """,  # noqa: S608 - table names come from the models, values are parameters
            [UnbookedSale.Status.USED, sorted(sales)],
        )
        for sale_id, used_at, used_xid in cursor.fetchall():
            sale = sales[sale_id]
            sale.status, sale.used_at, sale.used_xid = UnbookedSale.Status.USED, used_at, used_xid
    return used


def unbooked_note(sale: UnbookedSale) -> str:
    """The ledger row's note: why, who sold, who approved (the row's source is the order)."""
    if sale.approver_id:
        text = _(
            "Not in the books (%(reason)s%(details)s), sold by %(seller)s, approved by %(approver)s"
        )
    else:
        text = _("Not in the books (%(reason)s%(details)s), sold by %(seller)s")
    return (
        text
        % {
            "reason": sale.get_reason_display(),
            "details": f": {sale.note}" if sale.note else "",
            "seller": sale.seller.get_username(),
            "approver": sale.approver.get_username() if sale.approver_id else "",
        }
    )[:255]


_ALERT = StockAlert._meta.db_table


def below_zero_alerts_raise(changes: Sequence[LevelChange]) -> int:
    """An open "below zero: count it" alert for each level these changes left below
    zero (kept open, with the latest figure, if there is one). One statement, arbitrated
    by the partial unique index; returns how many were newly raised."""
    below = sorted(
        {
            (c.variant_id, c.location_id): c.on_hand_after for c in changes if c.on_hand_after < 0
        }.items()
    )
    if not below:
        return 0
    note = _("Sold though not in the books: count it.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_ALERT} (kind, variant_id, location_id, available, note, created_at)
            SELECT 'below_zero', v, l, a, %s, now()
              FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS t(v, l, a)
             ORDER BY v, l
            ON CONFLICT (variant_id, location_id)
               WHERE resolved_at IS NULL AND kind = 'below_zero'
            DO UPDATE SET available = EXCLUDED.available
            RETURNING xmax = 0
            """,  # noqa: S608 - table names come from the models, values are parameters
            [note, [k[0] for k, _a in below], [k[1] for k, _a in below], [a for _k, a in below]],
        )
        return sum(1 for (inserted,) in cursor.fetchall() if inserted)


def below_zero_alerts_resolve(*, variant_ids: Iterable[int], location_ids: Iterable[int]) -> int:
    """Resolve the open "below zero" alerts of these levels that are back at zero or
    above (a count, a receipt, a return). Returns how many were resolved."""
    variant_ids, location_ids = sorted(set(variant_ids)), sorted(set(location_ids))
    if not variant_ids or not location_ids:
        return 0
    back = StockLevel.objects.filter(
        variant_id__in=variant_ids, location_id__in=location_ids, on_hand__gte=0
    ).values_list("variant_id", "location_id")
    pairs = set(back)
    if not pairs:
        return 0
    alerts = StockAlert.objects.filter(
        kind=StockAlert.Kind.BELOW_ZERO,
        resolved_at__isnull=True,
        variant_id__in={v for v, _l in pairs},
        location_id__in={loc for _v, loc in pairs},
    ).values_list("pk", "variant_id", "location_id")
    ids = [pk for pk, v, loc in alerts if (v, loc) in pairs]
    if not ids:
        return 0
    return StockAlert.objects.filter(pk__in=ids, resolved_at__isnull=True).update(resolved_at=Now())
