"""Codes and discounts on the sale (issue 14): a scanned or typed code that is no product
is tried as a gift card (it goes to the pay area: a gift card is a tender, never a
discount) or as a voucher (it goes on the cart, with its amount and a remove button);
the seller's manual discount on a line or on the basket, with a reason, and a manager's
approval on the spot above the seller's cap. Each function is a named action of
``pos.web.sale.ACTIONS`` (or, for ``code_scanned``, the end of the ``scan`` action)."""

from __future__ import annotations

import contextlib
import re

from django.db import transaction
from django.utils.translation import gettext as _

from inventory.services.approval import manager_approval as approval_of
from loyalty.exceptions import GiftCardInvalid, VoucherUnknown
from loyalty.services.gift_cards import (
    gift_card_balance,
    gift_card_code_normalise,
    gift_card_code_valid,
    gift_card_find,
)
from loyalty.services.vouchers import voucher_code_normalise
from orders.exceptions import DiscountAboveCap
from orders.models import Cart
from orders.services.cart_discounts import (
    cart_discount_remove,
    cart_discount_set,
    cart_voucher_apply,
    cart_voucher_remove,
)
from pos.models import Register
from pos.services import till_caller
from pos.web.common import SESSION_GIFT_CARD
from pos.web.workspace import workspace_respond
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput

# What may be a code rather than a product's name: no spaces, letters and digits with
# dashes; all digits is a barcode, and a lower-case word is a name (neither costs one of
# the seller's limited code attempts).
CODE_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")
APPROVE_DISCOUNT = "orders.approve_discount"


def _code_like(text: str) -> bool:
    if not CODE_LIKE.match(text) or text.isdigit():
        return False
    return any(c.isdigit() for c in text) or text == text.upper()


def code_scanned(request, register: Register, cart: Cart, code: str) -> dict | None:
    """A scan that matched no product: a gift card's code goes to the pay area (the gift
    card tender, with the card's balance); a voucher code goes on the cart. None: it is
    not shaped like a code, or no card nor voucher has it (the caller says "no product").
    A voucher that exists but does not apply is refused naming the reason."""
    if not _code_like(code):
        return None
    caller = till_caller(request.user)
    normalised = gift_card_code_normalise(code)
    if gift_card_code_valid(normalised):
        try:
            card = gift_card_find(code=normalised, caller=caller)
        except GiftCardInvalid:
            pass
        else:
            request.session[SESSION_GIFT_CARD] = {
                "cart": cart.token,
                "code": normalised,
                "last4": card.last4,
                "balance": str(gift_card_balance(card)),
                "currency": card.currency,
            }
            return {"tender": "ledger", "gift_card_scanned": True, "clear_results": True}
    try:
        pricing = cart_voucher_apply(
            cart=cart,
            code=code,
            caller=caller,
            channel=register.channel,
            location=register.location,
        )
    except VoucherUnknown:
        return None
    entered = voucher_code_normalise(code)
    state = next((v for v in pricing.vouchers if v.code == entered), None)
    return {"voucher_added": state, "clear_results": True}


def voucher_remove(request, register: Register, cart: Cart):
    """The remove button of a code on the cart."""
    code = request.POST.get("code", "")
    if not cart_voucher_remove(cart=cart, code=code, channel=register.channel):
        raise InvalidInput(_("This code is not on the cart."))
    return {"voucher_removed": True}


def gift_card_forget(request, register: Register, cart: Cart):
    """The pay area's "not this card": the scanned card is put aside."""
    request.session.pop(SESSION_GIFT_CARD, None)
    return {"tender": "ledger"}


def _line_of(request) -> int | None:
    """The line a discount is about (None: the basket)."""
    text = request.POST.get("line", "")
    if text in ("", "basket"):
        return None
    line_id = whole_number(text, minimum=1)
    if line_id is None:
        raise InvalidInput(_("Choose a line of the cart."))
    return line_id


def discount(request, register: Register, cart: Cart):
    """A manual discount on a line or the basket (percent or amount, a reason). Above the
    seller's cap the form asks for a manager's username and password, typed on this till
    (checked on the server: the seller stays logged in); everything else is checked
    first, so a wrong value never costs a password attempt. A refusal is said in the
    discount's own form, which stays open with what was typed (never the password)."""
    line_id = None
    common = {
        "kind": request.POST.get("kind", ""),
        "value": request.POST.get("value", ""),
        "reason": request.POST.get("reason", ""),
    }
    try:
        line_id = _line_of(request)
        args = {"cart": cart, "line_id": line_id, **common, "user": request.user}
        place = {"channel": register.channel, "location": register.location}
        approver = None
        if request.POST.get("manager") or request.POST.get("password"):
            cart_discount_check(args, place)
            approver = manager_approval(request, register)
        cart_discount_set(**args, approver=approver, **place)
    except DomainError as error:
        form = {
            "target": str(line_id) if line_id is not None else "basket",
            "line": line_id,
            "error": error.message,
            "approval": isinstance(error, DiscountAboveCap) or bool(request.POST.get("manager")),
            **common,
        }
        if not request.htmx:
            return workspace_respond(request, register, cart, error=error.message)
        return workspace_respond(
            request,
            register,
            cart,
            discount_form=form,
            status=429 if error.http_status == 429 else 422,
        )
    return {"discount_given": True}


def cart_discount_check(args: dict, place: dict) -> None:
    """The discount as typed, checked (value, reason, line) without the cap: a savepoint
    tries it and rolls it back, so a bad value never costs the manager's password."""
    try:
        with transaction.atomic():
            with contextlib.suppress(DiscountAboveCap):
                cart_discount_set(**args, **place)
            raise _Checked
    except _Checked:
        return


class _Checked(Exception):
    """Rolls the trial of ``cart_discount_check`` back."""


def manager_approval(request, register: Register):
    return approval_of(
        username=request.POST.get("manager", ""),
        password=request.POST.get("password", ""),
        permission=APPROVE_DISCOUNT,
        location=register.location,
        request=request,
    )


def discount_remove(request, register: Register, cart: Cart):
    line_id = _line_of(request)
    cart_discount_remove(cart=cart, line_id=line_id, channel=register.channel)
    return {"discount_removed": True}
