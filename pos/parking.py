"""Parking, recalling and voiding a sale at a till (issue 15, "the till's day").

- ``sale_park``: the sale in progress (the register's cart, with its lines, codes and
  discounts) is set aside at this register; the till starts a new one.
- ``sale_recall``: a parked sale of this register becomes the sale in progress again,
  when the till has none with lines (park or finish it first).
- ``sale_void``: the sale in progress is voided before payment: its lines are removed
  (each removal is a cart event), the void itself is recorded with its reason, and the
  till starts afresh. A paid sale is never voided: it is cancelled by a credit note.

Each step is a cart event (who, which register); nothing is deleted but the parking row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from orders.locks import cart_lock
from orders.models import Cart, CartEvent, CartLine, Order
from orders.services.carts import cart_event_record, cart_writable_check
from pos.fiscal.events import E, jet_record
from pos.models import ParkedSale, Register
from unicommerce.exceptions import DomainError, InvalidInput, NotFound

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class SaleEmpty(InvalidInput):
    code = "sale_empty"

    def __init__(self) -> None:
        super().__init__(_("The sale has no line."))


class SaleInProgress(DomainError):
    code = "sale_in_progress"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(_("Park or finish the sale in progress first."))


class ParkedSaleNotFound(NotFound):
    code = "parked_sale_not_found"

    def __init__(self) -> None:
        super().__init__(_("This parked sale is no longer waiting at this till."))


class VoidReasonMissing(InvalidInput):
    code = "void_reason_missing"

    def __init__(self) -> None:
        super().__init__(_("Say why the sale is voided."), field="reason")


class SalePaidNotVoidable(DomainError):
    """A void is before payment only: a paid sale is cancelled from its receipt, where a
    credit note corrects its ticket (``pos.cancellation``)."""

    code = "sale_paid_not_voidable"
    http_status = 409

    def __init__(self, reference: str = "") -> None:
        message = (
            _(
                "Sale %(reference)s is paid: it cannot be voided. Cancel it from its receipt "
                "(a credit note is written)."
            )
            % {"reference": reference}
            if reference
            else _("This sale is paid: it cannot be voided. Cancel it from its receipt.")
        )
        super().__init__(message, reference=reference)


def parked_at(register: Register) -> list[ParkedSale]:
    """The sales parked at ``register``, oldest first, with their carts and how many
    items each holds."""
    return list(
        ParkedSale.objects.filter(register=register)
        .select_related("cart", "cart__customer", "parked_by")
        .annotate(item_count=Coalesce(Sum("cart__lines__quantity"), 0))
        .order_by("parked_at", "id")
    )


@transaction.atomic
def sale_park(
    *, register: Register, cart: Cart, seller: AbstractBaseUser, note: str = ""
) -> ParkedSale:
    cart = cart_lock(cart.pk)
    cart_writable_check(cart)
    if not CartLine.objects.filter(cart=cart).exists():
        raise SaleEmpty()
    parked, _created = ParkedSale.objects.get_or_create(
        cart=cart,
        defaults={"register": register, "parked_by": seller, "note": note.strip()[:100]},
    )
    cart_event_record(
        cart=cart,
        kind=CartEvent.Kind.PARKED,
        channel=register.channel,
        data={"register": register.code, "by": seller.get_username()},
    )
    return parked


@transaction.atomic
def sale_recall(
    *, register: Register, parked_id: int, current: Cart | None, seller: AbstractBaseUser
) -> Cart:
    """The parked sale's cart, now the sale in progress (its parking row gone)."""
    if current is not None and CartLine.objects.filter(cart=current).exists():
        raise SaleInProgress()
    parked = (
        ParkedSale.objects.select_for_update()
        .filter(pk=parked_id, register=register)
        .select_related("cart")
        .first()
    )
    if parked is None:
        raise ParkedSaleNotFound()
    cart = parked.cart
    parked.delete()
    cart_event_record(
        cart=cart,
        kind=CartEvent.Kind.RECALLED,
        channel=register.channel,
        data={"register": register.code, "by": seller.get_username()},
    )
    return cart


@transaction.atomic
def sale_void(*, register: Register, cart: Cart, seller: AbstractBaseUser, reason: str) -> None:
    """Void the sale in progress before payment (its lines removed, the void recorded)."""
    reason = (reason or "").strip()[:255]
    if not reason:
        raise VoidReasonMissing()
    cart = cart_lock(cart.pk)
    if cart.checked_out_at is not None:
        order = Order.objects.filter(cart=cart).only("id").first()
        raise SalePaidNotVoidable(order.reference if order is not None else "")
    cart_writable_check(cart)
    lines = list(CartLine.objects.filter(cart=cart).values("variant_id", "quantity"))
    if not lines:
        raise SaleEmpty()
    CartLine.objects.filter(cart=cart).delete()
    ParkedSale.objects.filter(cart=cart).delete()
    jet_record(
        chain=register,
        code=E.VOID,
        reference=cart.token[:12],
        payload={"cart": cart.pk, "by": seller.pk, "reason": reason, "lines": lines},
    )
    cart_event_record(
        cart=cart,
        kind=CartEvent.Kind.VOIDED,
        channel=register.channel,
        data={
            "register": register.code,
            "by": seller.get_username(),
            "reason": reason,
            "lines": lines,
        },
    )
