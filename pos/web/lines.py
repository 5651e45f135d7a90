"""The sale's lines: a scan or a tile adds one, a quantity changes, each line is taken now,
collected at another store or shipped home (with the address of what ships), and a
short taken-now line may be sold anyway (issue 12). Each function is a named action of
``pos.web.sale.ACTIONS``."""

from __future__ import annotations

import re

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from catalog.exceptions import UnknownCode
from catalog.models import Variant
from catalog.selectors import variant_by_code, variant_search
from inventory.models import Location
from inventory.selectors import stock_level
from inventory.services.approval import manager_approval
from inventory.services.unbooked import APPROVE_PERMISSION
from orders.models import Cart, Fulfilment
from orders.services.carts import cart_line_add, cart_line_fulfilment_set, cart_line_set_quantity
from orders.services.unbooked import (
    cart_line_unbooked_approve,
    cart_line_unbooked_check,
)
from pos.forms import LineQuantityForm, ShippingAddressForm
from pos.models import Register
from pos.web.common import SESSION_ADDRESS, SESSION_LAST_SALE
from pos.web.customers import cart_open_by_token, cart_token_in
from pos.web.discounts import code_scanned
from pos.web.workspace import workspace_respond
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput

SESSION_SCANS = "pos_scans"  # the latest scan ids counted (pos.js's queue retries with them)
SCANS_REMEMBERED = 50


def scan(request, register: Register, cart: Cart):
    """Enter in the scan field: an exact barcode or SKU adds one unit; otherwise the only
    search match does; otherwise a cart's token opens it, a gift card's code goes to the
    pay area and a voucher code onto the cart (``pos.web.discounts``); otherwise the
    seller is told what went wrong.

    The till's queue (pos.js) sends each scan with an id and sends it again when no answer
    came back: a scan already counted (its answer lost on the way) is not counted twice."""
    code = request.POST.get("code", "").strip()
    if not code:
        raise DomainError(_("Scan a barcode or type a product name."))
    scan_id = request.POST.get("scan", "")
    if not re.fullmatch(r"[0-9a-f]{16,64}", scan_id):
        scan_id = ""
    counted = request.session.get(SESSION_SCANS, [])
    if scan_id and scan_id in counted:
        return {"clear_results": True}
    try:
        variant = variant_by_code(code=code)
    except UnknownCode:
        matches = variant_search(text=code, limit=2)
        if not matches and (token := cart_token_in(code)):
            return cart_open_by_token(request, register, token)
        if len(matches) != 1:
            if matches:
                raise DomainError(
                    _("Several products match “%(code)s”: pick one below.") % {"code": code}
                ) from None
            if (scanned := code_scanned(request, register, cart, code)) is not None:
                _scan_counted(request, counted, scan_id)
                return scanned  # a gift card (the pay area) or a voucher (the cart)
            raise DomainError(
                _("No product has the barcode or SKU “%(code)s”.") % {"code": code}
            ) from None
        variant = matches[0]
    result = _line_add(request, register, cart, variant)
    _scan_counted(request, counted, scan_id)
    return result


def _scan_counted(request, counted: list[str], scan_id: str) -> None:
    if scan_id:
        request.session[SESSION_SCANS] = [*counted, scan_id][-SCANS_REMEMBERED:]


def add(request, register: Register, cart: Cart):
    variant = get_object_or_404(Variant, pk=request.POST.get("variant"), is_active=True)
    return _line_add(request, register, cart, variant)


def _line_add(request, register: Register, cart: Cart, variant: Variant):
    cart_line_add(cart=cart, variant=variant, quantity=1, channel=register.channel)
    request.session.pop(SESSION_LAST_SALE, None)
    level = stock_level(variant_id=variant.pk, location_id=register.location_id)
    on_hand_free = max(level.on_hand - level.reserved_now, 0) if level else 0
    in_cart = cart.lines.filter(variant=variant).values_list("quantity", flat=True).first() or 0
    warning = ""
    if in_cart > on_hand_free:
        warning = _("Only %(n)s of %(sku)s in stock here.") % {
            "n": on_hand_free,
            "sku": variant.sku,
        }
    return {"added": variant, "warning": warning, "clear_results": True}


def quantity(request, register: Register, cart: Cart):
    form = LineQuantityForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(form.error)
    cart_line_set_quantity(
        cart=cart,
        line_id=form.cleaned_data["line"],
        quantity=form.cleaned_data["quantity"],
        channel=register.channel,
    )


# --- Per-line fulfilment and the address of lines shipped home ---------------------------


def line_fulfilment(request, register: Register, cart: Cart):
    """Taken now, click & collect at another store (``collect:<store id>``), or shipped
    home (``ship``: endless aisle, from wherever orchestration picks)."""
    choice = request.POST.get("fulfilment", "")
    line_id = whole_number(request.POST.get("line", ""), minimum=1)
    if line_id is None:
        raise InvalidInput(_("Choose a line of the cart."))
    location = None
    if choice.startswith("collect:"):
        store_id = whole_number(choice.partition(":")[2], minimum=1)
        location = Location.objects.filter(
            pk=store_id, kind=Location.Kind.STORE, is_active=True
        ).first()
        if location is None:
            raise InvalidInput(_("Choose the store the customer collects from."))
        fulfilment = Fulfilment.COLLECT
    elif choice in (Fulfilment.TAKEN_NOW, Fulfilment.SHIP):
        fulfilment = choice
    else:
        raise InvalidInput(_("Choose how the line reaches the customer."))
    cart_line_fulfilment_set(
        cart=cart,
        line_id=line_id,
        fulfilment=fulfilment,
        location=location,
        channel=register.channel,
    )


def address_keep(request, register: Register, cart: Cart):
    """Keep the address of the lines shipped home for the checkout (checked here for its
    shape, and by checkout again)."""
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return workspace_respond(
            request,
            register,
            cart,
            error=_("Check the shipping address."),
            address_form=form,
            status=422,
        )
    request.session[SESSION_ADDRESS] = {"cart": cart.token, "address": form.address()}
    return {"address_saved": True}


def address_edit(request, register: Register, cart: Cart):
    request.session.pop(SESSION_ADDRESS, None)


# --- Selling an item the books say is not here (issue 12) -------------------------------


def unbooked(request, register: Register, cart: Cart):
    """The "Sell anyway" of a short taken-now line: the seller's reason and, when the store
    asks for it, a manager's username and password typed on this till (checked on the
    server; the seller stays logged in). Everything but the password is checked first,
    so a wrong reason never costs a password attempt. A refusal is said in the line's
    own form, which stays open with what was typed (never the password)."""
    line_id = whole_number(request.POST.get("line", ""), minimum=1)
    reason, note = request.POST.get("reason", ""), request.POST.get("note", "")
    location = register.location
    try:
        if line_id is None:
            raise InvalidInput(_("Choose a line of the cart."))
        common = {"cart": cart, "line_id": line_id, "location": location, "seller": request.user}
        cart_line_unbooked_check(**common, reason=reason, note=note)
        approver = None
        if location.unbooked_sale_policy == Location.UnbookedSalePolicy.APPROVAL:
            approver = manager_approval(
                username=request.POST.get("manager", ""),
                password=request.POST.get("password", ""),
                permission=APPROVE_PERMISSION,
                location=location,
                request=request,
            )
        sale = cart_line_unbooked_approve(**common, reason=reason, note=note, approver=approver)
    except DomainError as error:
        if not request.htmx:  # the full page: the message above the sale
            return workspace_respond(request, register, cart, error=error.message)
        return workspace_respond(
            request,
            register,
            cart,
            unbooked_form={"line": line_id, "error": error.message, "reason": reason, "note": note},
            status=429 if error.http_status == 429 else 422,
        )
    return {"unbooked_approved": sale}
