"""The HTMX selling screen. One view per screen; named actions parse, call a service,
and re-render the partial they changed. Every action also works without JavaScript
(full-page POST, then redirect)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.exceptions import UnknownCode
from catalog.models import Variant
from catalog.selectors import variant_by_code, variant_search
from inventory.selectors import stock_at_locations, stock_level
from orders.models import Cart
from orders.services import cart_create, cart_line_add, cart_line_set_quantity, cart_price
from payments.services import cash_change
from pos.models import Register
from pos.selectors import registers_for
from pos.services import sale_complete_cash
from unicommerce.exceptions import DomainError
from unicommerce.money import parse_amount

SESSION_REGISTER = "pos_register_id"
SESSION_CART = "pos_cart_token"
SESSION_LAST_SALE = "pos_last_sale"
CASH_NOTES = [10, 20, 50, 100]


class LoginView(auth_views.LoginView):
    template_name = "pos/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Pick the register to sell at."""
    registers = registers_for(request.user)
    if request.method == "POST":
        register = registers.filter(pk=request.POST.get("register")).first()
        if register is None:
            messages.error(request, _("Choose one of your registers."))
            return redirect("pos:home")
        request.session[SESSION_REGISTER] = register.pk
        request.session.pop(SESSION_CART, None)
        return redirect("pos:sell")
    return render(request, "pos/home.html", {"registers": registers})


def _register(request: HttpRequest) -> Register | None:
    register_id = request.session.get(SESSION_REGISTER)
    if register_id is None:
        return None
    return registers_for(request.user).filter(pk=register_id).first()


def _cart(request: HttpRequest, register: Register) -> Cart:
    """The sale in progress at this register (a server-side cart on the store's channel)."""
    token = request.session.get(SESSION_CART)
    cart = None
    if token:
        cart = Cart.objects.filter(
            token=token, channel=register.channel, checked_out_at__isnull=True
        ).first()
    if cart is None:
        cart = cart_create(channel=register.channel)
        request.session[SESSION_CART] = cart.token
    return cart


def _context(request, register: Register, cart: Cart, *, pricing=None, **extra) -> dict:
    context = {
        "register": register,
        "cart": cart,
        "pricing": pricing or cart_price(cart=cart),
        "last_sale": request.session.get(SESSION_LAST_SALE),
        "cash_notes": CASH_NOTES,
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def sell(request: HttpRequest) -> HttpResponse:
    register = _register(request)
    if register is None:
        return redirect("pos:home")
    cart = _cart(request, register)

    if request.method == "GET":
        if request.htmx and "code" in request.GET:
            return _search(request, register, request.GET["code"])
        context = _context(request, register, cart)
        if "stock" in request.GET:
            context.update(_stock(request.GET["stock"]))
            if request.htmx:
                return render(request, "pos/sell.html#stock", context)
        return render(request, "pos/sell.html", context)

    action = request.POST.get("action", "")
    handler = ACTIONS.get(action)
    if handler is None:
        return HttpResponse(_("Unknown action."), status=400)
    try:
        result = handler(request, register, cart)
    except DomainError as error:
        return _respond(request, register, cart, error=error.message, status=422)
    if isinstance(result, HttpResponse):
        return result
    return _respond(request, register, cart, **(result or {}))


def _respond(request, register, cart, *, error: str = "", status: int = 200, **extra):
    """The workspace partial for htmx; a redirect to the full page otherwise."""
    cart.refresh_from_db()
    if cart.checked_out_at is not None:
        cart = _cart(request, register)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("pos:sell")
    context = _context(request, register, cart, error=error, **extra)
    return TemplateResponse(request, "pos/sell.html#workspace_response", context, status=status)


def _search(request, register: Register, text: str) -> HttpResponse:
    variants = variant_search(text=text, limit=12)
    levels = {
        level.variant_id: level
        for level in register.location.stock_levels.filter(variant__in=variants)
    }
    results = [(v, levels.get(v.pk)) for v in variants]
    return render(request, "pos/sell.html#results", {"results": results, "query": text.strip()})


def _stock(variant_id: str) -> dict:
    """Where a variant is, in every location (empty when the seller closes the panel)."""
    if not variant_id.isdigit():
        return {}
    variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        return {}
    return {"stock_variant": variant, "stock_levels": stock_at_locations(variant_id=variant.pk)}


def _scan(request, register: Register, cart: Cart):
    """Enter in the scan field: an exact barcode or SKU adds one unit; otherwise the only
    search match does; otherwise the seller is told what went wrong."""
    code = request.POST.get("code", "").strip()
    if not code:
        raise DomainError(_("Scan a barcode or type a product name."))
    try:
        variant = variant_by_code(code=code)
    except UnknownCode:
        matches = variant_search(text=code, limit=2)
        if len(matches) != 1:
            if matches:
                raise DomainError(
                    _("Several products match “%(code)s”: pick one below.") % {"code": code}
                ) from None
            raise DomainError(
                _("No product has the barcode or SKU “%(code)s”.") % {"code": code}
            ) from None
        variant = matches[0]
    return _add(request, register, cart, variant)


def _add_by_id(request, register: Register, cart: Cart):
    variant = get_object_or_404(Variant, pk=request.POST.get("variant"), is_active=True)
    return _add(request, register, cart, variant)


def _add(request, register: Register, cart: Cart, variant: Variant):
    cart_line_add(cart=cart, variant=variant, quantity=1)
    request.session.pop(SESSION_LAST_SALE, None)
    level = stock_level(variant_id=variant.pk, location_id=register.location_id)
    on_hand_free = max(level.on_hand - level.reserved, 0) if level else 0
    in_cart = cart.lines.filter(variant=variant).values_list("quantity", flat=True).first() or 0
    warning = ""
    if in_cart > on_hand_free:
        warning = _("Only %(n)s of %(sku)s in stock here.") % {
            "n": on_hand_free,
            "sku": variant.sku,
        }
    return {"added": variant, "warning": warning, "clear_results": True}


def _quantity(request, register: Register, cart: Cart):
    try:
        quantity = int(request.POST.get("quantity", ""))
        line_id = int(request.POST.get("line", ""))
    except ValueError:
        raise DomainError(_("Quantity must be a whole number.")) from None
    cart_line_set_quantity(cart=cart, line_id=line_id, quantity=quantity)


def _tendered(request, pricing) -> Decimal:
    try:
        return parse_amount(request.POST.get("tendered", ""), pricing.currency)
    except ValueError:
        raise DomainError(_("Type the cash received, e.g. 50 or 20.50.")) from None


def _change(request, register: Register, cart: Cart):
    pricing = cart_price(cart=cart)
    context = _context(request, register, cart, pricing=pricing)
    try:
        tendered = _tendered(request, pricing)
        context["tendered"] = tendered
        context["change"] = cash_change(
            due=pricing.total_amount, tendered=tendered, currency=pricing.currency
        )
    except DomainError as error:
        context["change_error"] = error.message
    return TemplateResponse(request, "pos/sell.html#change", context)


def _complete(request, register: Register, cart: Cart):
    pricing = cart_price(cart=cart)
    tendered = _tendered(request, pricing)
    result = sale_complete_cash(
        register=register, cart=cart, tendered=tendered, seller=request.user
    )
    request.session[SESSION_LAST_SALE] = {
        "reference": result.order.reference,
        "total": str(result.order.total_amount),
        "tendered": str(result.payment.tendered_amount),
        "change": str(result.change_amount),
        "currency": result.order.currency,
    }
    request.session.pop(SESSION_CART, None)
    return None


def _new_sale(request, register: Register, cart: Cart):
    request.session.pop(SESSION_LAST_SALE, None)


ACTIONS = {
    "scan": _scan,
    "add": _add_by_id,
    "quantity": _quantity,
    "change": _change,
    "complete": _complete,
    "new": _new_sale,
}
