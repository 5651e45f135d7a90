"""A cart line sold at the till though the books say the item is not here.

The seller asks for it on one *taken now* line at their till's store; the store's policy
says whether a reason is enough or a manager must approve (``inventory.services.unbooked``).
The override covers the units the books lack for that line now; checkout
(``orders.services.checkout``) lets the line take the stock below zero by that much and
no more, and writes it in the order's timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from inventory.exceptions import UnbookedSaleInvalid
from inventory.models import Location, UnbookedSale
from inventory.selectors import stock_level
from inventory.services.unbooked import (
    unbooked_policy_check,
    unbooked_reason_clean,
    unbooked_sale_grant,
    unbooked_sales_granted,
)
from orders.locks import cart_lock
from orders.models import Cart, CartLine, Fulfilment
from orders.selectors import cart_line_get
from orders.services.carts import cart_writable_check

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def cart_line_reference(line_id: int) -> str:
    """What an override names: the cart line it was given for."""
    return f"cart-line:{line_id}"


def _free_here(line: CartLine, location: Location) -> int:
    level = stock_level(variant_id=line.variant_id, location_id=location.pk)
    return max(level.on_hand - level.reserved_now, 0) if level is not None else 0


def _missing(cart: Cart, line_id: object, location: Location) -> tuple[CartLine, int]:
    cart_writable_check(cart)
    line = cart_line_get(cart, line_id)
    if line.fulfilment not in ("", Fulfilment.TAKEN_NOW):
        raise UnbookedSaleInvalid(
            _("Only a line the customer takes now can be sold though not in the books."),
            line_id=line.pk,
        )
    missing = line.quantity - _free_here(line, location)
    if missing <= 0:
        raise UnbookedSaleInvalid(
            _("The books have enough of it here: sell it as usual."), line_id=line.pk
        )
    return line, missing


def cart_line_unbooked_check(
    *,
    cart: Cart,
    line_id: object,
    location: Location,
    seller: AbstractBaseUser,
    reason: str,
    note: str,
) -> int:
    """Everything but the approval, before anyone types a password: the store's policy,
    the seller, the reason, a taken-now line the books lack units of. Returns how many
    units they lack. Changes nothing."""
    unbooked_policy_check(location=location, seller=seller)
    unbooked_reason_clean(reason=reason, note=note)
    return _missing(cart, line_id, location)[1]


@transaction.atomic
def cart_line_unbooked_approve(
    *,
    cart: Cart,
    line_id: object,
    location: Location,
    seller: AbstractBaseUser,
    reason: str,
    note: str,
    approver: AbstractBaseUser | None,
) -> UnbookedSale:
    """Let this taken-now line be sold at ``location`` though the books lack units of it:
    as many as they lack now. ``approver`` is the manager who approved on the till (the
    policy decides whether one is needed; ``inventory.services.approval`` checked their
    password). A previous override of the line is replaced."""
    locked = cart_lock(cart.pk)  # the line and its quantity hold still while we decide
    line, missing = _missing(locked, line_id, location)
    return unbooked_sale_grant(
        variant_id=line.variant_id,
        location=location,
        quantity=missing,
        reason=reason,
        note=note,
        reference=cart_line_reference(line.pk),
        seller=seller,
        approver=approver,
    )


def cart_unbooked_sales(*, line_ids: list[int], location_id: int) -> dict[int, UnbookedSale]:
    """{line id: its override granted and not yet sold} for these cart lines at this
    store (one query)."""
    granted = unbooked_sales_granted(
        references=[cart_line_reference(pk) for pk in line_ids], location_id=location_id
    )
    return {
        pk: granted[cart_line_reference(pk)]
        for pk in line_ids
        if cart_line_reference(pk) in granted
    }
