"""What a customer or a seller puts on a cart besides its lines: voucher codes, and the
seller's manual discounts at the till (docs/pricing.md).

A code is looked up (rate-limited, one answer for every unusable code), checked where it is
used (channel, store, customer, window, limits), then priced: a code that would give
nothing (below its minimum spend, nothing eligible, a better offer already there) is
refused with that reason and not kept. Its limits are enforced when the order is placed.

A manual discount is a percent or an amount off one line or the whole basket, with a
reason. Each role may give up to its cap (``settings.MANUAL_DISCOUNT_CAPS``, by the
role's group name, percent of what the discount applies to); above it a manager approves
on the spot with their password (``inventory.services.approval.manager_approval``), and must hold
``orders.approve_discount`` with a cap of their own that covers it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from inventory.models import Location
from loyalty.exceptions import VoucherSameCampaign
from loyalty.services.vouchers import voucher_check, voucher_code_normalise, voucher_find
from orders.exceptions import CartLineNotFound, DiscountAboveCap, DiscountInvalid
from orders.locks import cart_lock
from orders.models import Cart, CartDiscount, CartEvent, CartLine, CartVoucher, DiscountKind
from orders.pricing.carts import CartPricing, cart_price
from orders.services.carts import cart_event_record, cart_writable_check
from unicommerce.channels.models import SalesChannel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

HUNDRED = Decimal(100)


def _locked(cart: Cart) -> Cart:
    locked = cart_lock(cart.pk)
    cart_writable_check(locked)
    return locked


@transaction.atomic
def cart_voucher_apply(
    *,
    cart: Cart,
    code: str,
    caller: str,
    channel: SalesChannel | None = None,
    location: Location | None = None,
) -> CartPricing:
    """Enter ``code`` on ``cart`` (priced on ``channel``, at ``location``'s till) and
    return the cart's new pricing. Refused, nothing kept: ``VoucherUnknown`` (400) for any
    code that cannot be used as typed, a ``VoucherRefused`` (409) naming the reason
    otherwise. Entering a code already on the cart changes nothing."""
    voucher = voucher_find(code=code, caller=caller)
    cart = _locked(cart)
    customer = cart.customer if cart.customer_id else None
    voucher_check(
        voucher=voucher,
        channel_id=(channel or cart.channel).pk,
        location_id=location.pk if location is not None else None,
        customer=customer,
    )
    entered = CartVoucher.objects.filter(cart=cart).select_related("voucher")
    if any(
        e.voucher.promotion_id == voucher.promotion_id and e.voucher_id != voucher.pk
        for e in entered
    ):
        raise VoucherSameCampaign(voucher=voucher.code)
    _created = CartVoucher.objects.get_or_create(cart=cart, voucher=voucher)[1]
    pricing = cart_price(cart=cart, channel=channel, location=location)
    state = next(v for v in pricing.vouchers if v.voucher_id == voucher.pk)
    if state.refusal is not None:
        raise state.refusal  # the transaction rolls back: the code is not kept
    if _created:
        cart_event_record(
            cart=cart,
            kind=CartEvent.Kind.VOUCHER_ADDED,
            channel=channel,
            data={"code": voucher.code},
        )
    return pricing


@transaction.atomic
def cart_voucher_remove(*, cart: Cart, code: str, channel: SalesChannel | None = None) -> bool:
    """Take ``code`` off the cart; False when it was not on it."""
    cart = _locked(cart)
    normalised = voucher_code_normalise(code)
    deleted, _rows = CartVoucher.objects.filter(cart=cart, voucher__code=normalised).delete()
    if deleted:
        cart_event_record(
            cart=cart,
            kind=CartEvent.Kind.VOUCHER_REMOVED,
            channel=channel,
            data={"code": normalised},
        )
    return bool(deleted)


# --- Manual discounts at the till ------------------------------------------------------


def discount_cap(user: AbstractBaseUser | None) -> Decimal:
    """The largest manual discount ``user`` may give alone, in percent of what it
    applies to: the highest cap of their roles (head office and superusers: 100)."""
    if user is None or not user.is_authenticated:
        return Decimal(0)
    if user.is_superuser:
        return HUNDRED
    caps = {group: Decimal(str(cap)) for group, cap in settings.MANUAL_DISCOUNT_CAPS.items()}
    groups = user.groups.values_list("name", flat=True)
    return max((caps[name] for name in groups if name in caps), default=Decimal(0))


def _discount_value(kind: str, value: object) -> Decimal:
    if kind not in DiscountKind.values:
        raise DiscountInvalid(_("Choose a percentage or an amount."), field="kind")
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or (kind == DiscountKind.PERCENT and amount > 100):
        raise DiscountInvalid(
            _("A discount is a positive amount, or a percentage from 0 to 100."), field="value"
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise DiscountInvalid(_("A discount has at most two decimals."), field="value")
    return amount


def _share_percent(kind: str, value: Decimal, base: Decimal) -> Decimal:
    """The discount in percent of ``base`` (what it applies to, before it)."""
    if kind == DiscountKind.PERCENT:
        return value
    if base <= 0:
        return HUNDRED
    return min(value * HUNDRED / base, HUNDRED)


def _base(pricing: CartPricing, line_id: int | None) -> Decimal:
    """What a new manual discount would apply to: the line's (or the basket's
    discountable lines') amount after the other discounts, this place's manual one
    excepted."""
    total = Decimal("0.00")
    for priced in pricing.lines:
        if line_id is not None and priced.line.pk != line_id:
            continue
        if priced.line.variant.product.gift_card:
            continue
        manual = sum((d.amount for d in priced.discounts if d.source == "manual"), Decimal("0.00"))
        total += priced.total_amount + manual
    return total


@transaction.atomic
def cart_discount_set(
    *,
    cart: Cart,
    line_id: int | None,
    kind: str,
    value: object,
    reason: str,
    user: AbstractBaseUser,
    approver: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
    location: Location | None = None,
) -> CartPricing:
    """Give a manual discount on line ``line_id`` (None: the whole basket), replacing the
    one already there. ``DiscountInvalid`` (400) for a bad value, a missing reason or a
    gift card; ``DiscountAboveCap`` (403) when it is above ``user``'s cap and no
    ``approver`` (already authenticated by the caller) covers it."""
    value = _discount_value(kind, value)
    reason = (reason or "").strip()[:255]
    if not reason:
        raise DiscountInvalid(_("Say why the discount is given."), field="reason")
    cart = _locked(cart)
    if line_id is not None:
        line = CartLine.objects.filter(cart=cart, pk=line_id).select_related("variant__product")
        line = line.first()
        if line is None:
            raise CartLineNotFound(line_id)
        if line.variant.product.gift_card:
            raise DiscountInvalid(_("A gift card is never discounted."), field="line")
    pricing = cart_price(cart=cart, channel=channel, location=location)
    percent = _share_percent(kind, value, _base(pricing, line_id))
    cap = discount_cap(user)
    if percent > cap:
        if approver is None:
            raise DiscountAboveCap(cap=cap, percent=percent)
        if not approver.has_perm("orders.approve_discount") or percent > discount_cap(approver):
            raise DiscountAboveCap(cap=discount_cap(approver), percent=percent, approver=True)
    CartDiscount.objects.filter(cart=cart, line_id=line_id).delete()
    CartDiscount.objects.create(
        cart=cart,
        line_id=line_id,
        kind=kind,
        value=value,
        reason=reason,
        created_by=user,
        approved_by=approver if percent > cap else None,
    )
    data = {"line": line_id, "kind": kind, "value": str(value), "reason": reason}
    if percent > cap:
        data["approved_by"] = approver.get_username()
    cart_event_record(cart=cart, kind=CartEvent.Kind.DISCOUNT_SET, channel=channel, data=data)
    return cart_price(cart=cart, channel=channel, location=location)


@transaction.atomic
def cart_discount_remove(
    *, cart: Cart, line_id: int | None, channel: SalesChannel | None = None
) -> bool:
    cart = _locked(cart)
    deleted, _rows = CartDiscount.objects.filter(cart=cart, line_id=line_id).delete()
    if deleted:
        cart_event_record(
            cart=cart, kind=CartEvent.Kind.DISCOUNT_REMOVED, channel=channel, data={"line": line_id}
        )
    return bool(deleted)
