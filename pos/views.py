"""The HTMX selling screen. One view per screen; named actions parse, call a service,
and re-render the partial they changed. Every action also works without JavaScript
(full-page POST, then redirect).

Live stock: the stock panel and the cart's "n here" figures follow stock changes made
anywhere (another till, a web order, a receipt, a worker) within about a second, by a
cheap conditional poll rather than server-sent events. The web runs on gunicorn *sync*
workers (unicommerce/gunicorn_conf.py), where every open event stream would pin a whole
worker process for as long as a till is open; a poll is a short request any worker
serves. Each live partial carries the fingerprint of the stock it shows
(inventory.selectors.stock_fingerprint) and asks every second, with ``?since=<it>``,
whether it changed: while it has not, the answer is an empty 204 (htmx swaps nothing)
that costs the session, the user and one indexed query, and writes nothing; when it
has, the answer is the partial, rendered afresh with its new fingerprint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.db.models.functions import Now
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh, retarget

from catalog.exceptions import UnknownCode
from catalog.models import Variant
from catalog.selectors import variant_by_code, variant_search
from customers.phones import phone_e164
from customers.services import customer_find
from customers.services.identity import email_normalised
from inventory.models import Location, UnbookedSale
from inventory.selectors import stock_fingerprint, stock_level
from inventory.services.unbooked import APPROVE_PERMISSION
from orders.exceptions import CheckoutUnavailable
from orders.models import Cart, Fulfilment, Order
from orders.services import cart_create, cart_line_add, cart_line_set_quantity, cart_price
from orders.services.carts import cart_identify, cart_line_fulfilment_set
from orders.services.unbooked import (
    cart_line_unbooked_approve,
    cart_line_unbooked_check,
    cart_unbooked_sales,
)
from payments.services.cash import cash_change
from pos.forms import CustomerNameForm, LineQuantityForm, ShippingAddressForm
from pos.messages import seller_message
from pos.models import Register
from pos.selectors import (
    CartStock,
    PaymentPanel,
    catalog_grid,
    catalog_product_tile,
    catalog_search_tiles,
    collect_stores,
    customer_panel,
    order_receipt,
    payment_panel,
    registers_for,
    stock_panel_rows,
)
from pos.services import (
    SalePaymentNotRecorded,
    SaleResult,
    cart_open_at_register,
    sale_complete,
    sale_pay_card,
    sale_pay_link,
    sale_pay_split,
)
from pos.tenders import DEFAULT_TENDER, TENDERS
from unicommerce.access.approval import manager_approval
from unicommerce.access.pos import pos_limits_count
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import parse_amount
from unicommerce.ratelimit import RateLimited

SESSION_REGISTER = "pos_register_id"
SESSION_CART = "pos_cart_token"
SESSION_LAST_SALE = "pos_last_sale"
SESSION_ADDRESS = "pos_ship_address"  # {"cart": token, "address": {...}}
SESSION_SCANS = "pos_scans"  # the latest scan ids counted (pos.js's queue retries with them)
SCANS_REMEMBERED = 50
CASH_NOTES = [10, 20, 50, 100]
LIVE_IDS_MAX = 200  # variant ids one live poll may ask about


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


def _live(response: HttpResponse) -> HttpResponse:
    """A live partial's answer is never reused from a cache: it is only true now."""
    add_never_cache_headers(response)
    return response


def _ids(text: str) -> list[int]:
    """ "12,15" → [12, 15]; [] for anything else (or for too many)."""
    parts = text.split(",")
    ids = [whole_number(part, minimum=1) for part in parts[: LIVE_IDS_MAX + 1]]
    if len(parts) > LIVE_IDS_MAX or None in ids:
        return []
    return ids


def _stock_unchanged(request: HttpRequest) -> bool:
    """Is this a live poll, and is the stock its partial was rendered with (``since``)
    still the stock?

    Reads only the query string and one fingerprint: neither the register, nor the
    cart, nor the session is touched. The ids come from the page and are only compared,
    never trusted: a changed answer is rendered from the seller's own register and cart.
    """
    query = request.GET
    since = query.get("since", "")
    if request.method != "GET" or not request.htmx or not since:
        return False
    if "stock" in query:
        variant_ids, location_ids = _ids(query["stock"]), None
    elif "lines" in query:
        variant_ids, location_ids = _ids(query["lines"]), _ids(query.get("at", "")) or None
    else:
        return False
    if not variant_ids:
        return False
    return stock_fingerprint(variant_ids=variant_ids, location_ids=location_ids) == since


def _register(request: HttpRequest) -> Register | None:
    register_id = request.session.get(SESSION_REGISTER)
    if register_id is None:
        return None
    return registers_for(request.user).filter(pk=register_id).first()


def _open_cart(request: HttpRequest, register: Register) -> Cart | None:
    """The register's current cart: one it created, or one the seller opened (the very
    same cart a customer filled on the web, whatever its channel)."""
    token = request.session.get(SESSION_CART)
    if not token:
        return None
    return (
        Cart.objects.select_related("channel", "customer")
        .filter(token=token, status=Cart.Status.OPEN, checked_out_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
        .first()
    )


def _cart(request: HttpRequest, register: Register) -> Cart:
    """The sale in progress at this register (a server-side cart on the store's channel)."""
    cart = _open_cart(request, register)
    if cart is None:
        cart = cart_create(channel=register.channel)
        request.session[SESSION_CART] = cart.token
    return cart


def _context(request, register: Register, cart: Cart, *, pricing=None, **extra) -> dict:
    pricing = pricing or cart_price(cart=cart, channel=register.channel)
    last_sale = request.session.get(SESSION_LAST_SALE)
    context = {
        "register": register,
        "cart": cart,
        "pricing": pricing,
        "cart_stock": CartStock(location_id=register.location_id, pricing=pricing),
        "last_sale": last_sale,
        "receipt": _LazyReceipt(last_sale),
        "cash_notes": CASH_NOTES,
        "stores": _LazyStores(register.location_id),
        "shipping_address": _address(request, cart),
        "ships": any(p.line.fulfilment == Fulfilment.SHIP for p in pricing.lines),
        "Fulfilment": Fulfilment,
        "tenders": TENDERS,
        "tender": DEFAULT_TENDER,
    }
    context.update(extra)
    context["unbooked"] = unbooked = _LazyUnbooked(
        register, context["cart_stock"], extra.get("unbooked_form")
    )
    if unbooked.error_elsewhere:
        context["error"] = unbooked.error_elsewhere
    if context["ships"] and "address_form" not in extra:
        customer = cart.customer
        name = f"{customer.first_name} {customer.last_name}".strip() if customer else ""
        context["address_form"] = ShippingAddressForm(initial={"name": name, "country": "FR"})
    return context


class _LazyReceipt:
    """The last sale's order, read only if the receipt is shown."""

    def __init__(self, last_sale: dict | None) -> None:
        self.order_id = (last_sale or {}).get("order_id")

    @cached_property
    def order(self) -> Order | None:
        return order_receipt(order_id=self.order_id) if self.order_id else None

    @cached_property
    def payment_panel(self) -> PaymentPanel | None:
        """The order's payments and the tenders (split tender, payment link), for an
        order placed to be paid in store (pos/views_payments.py)."""
        return payment_panel(order_id=self.order_id) if self.order_id else None


class _LazyStores:
    """The other stores a line may be collected from, read only if a line is shown."""

    def __init__(self, location_id: int) -> None:
        self.location_id = location_id

    @cached_property
    def all(self) -> list[Location]:
        return collect_stores(exclude_id=self.location_id)

    def __iter__(self):
        return iter(self.all)


def _address(request, cart: Cart) -> dict | None:
    saved = request.session.get(SESSION_ADDRESS) or {}
    return saved.get("address") if saved.get("cart") == cart.token else None


def seller_login_required(view):
    """``login_required``, except that an htmx request from a till whose session has
    ended reloads the page (which then shows the login page) instead of swapping the
    login page into a partial: a live poll would otherwise do that within a second."""
    protected = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            return HttpResponseClientRefresh()
        return protected(request, *args, **kwargs)

    return wrapper


@seller_login_required
@require_http_methods(["GET", "POST"])
def sell(request: HttpRequest) -> HttpResponse:
    if _stock_unchanged(request):
        return _live(HttpResponse(status=204))
    register = _register(request)
    if register is None:
        return HttpResponseClientRefresh() if request.htmx else redirect("pos:home")

    if request.method == "GET" and request.htmx:
        if "code" in request.GET:
            return _search(request, register, request.GET["code"])
        if "stock" in request.GET:
            context = {"register": register, **_stock(request.GET["stock"], register)}
            return _live(render(request, "pos/_catalog.html#stock", context))
        if "product" in request.GET:
            return _product_tile(request, register, request.GET["product"])
        if "browse" in request.GET:
            return render(request, "pos/_catalog.html#grid", _browse(request, register))
        if "lines" in request.GET:
            return _live(_line_stock_refresh(request, register))
    cart = _cart(request, register)

    if request.method == "GET":
        context = _context(request, register, cart)
        context.update(_browse(request, register))
        if "stock" in request.GET:
            context.update(_stock(request.GET["stock"], register))
        return render(request, "pos/sell.html", context)

    action = request.POST.get("action", "")
    handler = ACTIONS.get(action)
    if handler is None:
        return HttpResponse(_("Unknown action."), status=400)
    try:
        result = handler(request, register, cart)
    except SalePaymentNotRecorded as error:
        # The order is placed: its receipt and payment panel, where the seller finishes.
        _sale_done(request, SaleResult(error.order, None, None), TENDER_OF_ACTION[action])
        return _respond(request, register, cart, error=seller_message(error), status=422)
    except DomainError as error:
        lines = _error_lines(error)
        message = _("These lines are not available in the quantity asked for:")
        return _respond(
            request,
            register,
            cart,
            error=message if lines else seller_message(error),
            error_lines=lines,
            status=429 if isinstance(error, RateLimited) else 422,
            **_tender_kept(request, action, error),
        )
    if isinstance(result, HttpResponse):
        return result
    return _respond(request, register, cart, **(result or {}))


def _tender_kept(request, action: str, error: DomainError) -> dict:
    """A tender refused: the pay area shows it again, with what was typed and the field
    the error is about."""
    if action not in TENDER_OF_ACTION:
        return {}
    field = error.details.get("field") or ""
    if not field and error.code in ("insufficient_tender", "tender_missing"):
        field = "tendered"
    if not field and error.code == "invalid_phone":
        field = "phone"
    return {
        "tender": TENDER_OF_ACTION[action],
        "tender_field": field,
        "posted": request.POST,
    }


def _error_lines(error: DomainError) -> list[str]:
    """Checkout's refusal of several short lines, one sentence per line (as checkout
    words each), for a list the seller can read at a glance."""
    if not isinstance(error, CheckoutUnavailable) or len(error.lines) < 2:
        return []
    return [CheckoutUnavailable([line]).message for line in error.lines]


def _respond(request, register, cart, *, error: str = "", status: int = 200, **extra):
    """The workspace partial for htmx; a redirect to the full page otherwise. The cart
    shown is the register's current one, which the action may have changed (a cart
    opened, merged on identification, or sold)."""
    cart = _cart(request, register)
    if not request.htmx:
        if error:
            messages.error(request, " ".join([error, *extra.get("error_lines", [])]))
        return redirect("pos:sell")
    context = _context(request, register, cart, error=error, **extra)
    return TemplateResponse(request, "pos/sell.html#workspace_response", context, status=status)


def _search(request, register: Register, text: str) -> HttpResponse:
    """Matches, one tile per product with its matching variants, each with what the till
    may sell of it here (as on the cart's lines). Nothing typed: nothing, and the
    product grid shows again."""
    tiles = catalog_search_tiles(text=text, location_id=register.location_id)
    context = {"tiles": tiles, "query": text.strip()}
    return render(request, "pos/_catalog.html#results", context)


def _product_tile(request, register: Register, product_id: str) -> HttpResponse:
    """A tile's "more": the product with all its variants."""
    pk = whole_number(product_id, minimum=1)
    tile = catalog_product_tile(product_id=pk, location_id=register.location_id) if pk else None
    if tile is None:
        return HttpResponse(_("This product is no longer sold."), status=404)
    return render(request, "pos/_catalog.html#tile", {"tile": tile, "expanded": True})


def _browse(request, register: Register) -> dict:
    """The product grid: ``?browse=<category slug>`` (empty: every category), ``&page=``.
    An unknown category shows every product."""
    page = whole_number(request.GET.get("page", "1"), minimum=1, maximum=10_000) or 1
    slug = request.GET.get("browse", "")[:100]
    grid = catalog_grid(location_id=register.location_id, slug=slug, page=page)
    if grid is None:
        grid = catalog_grid(location_id=register.location_id, page=page)
    return {"grid": grid}


def _stock(variant_id: str, register: Register) -> dict:
    """Where a variant is: this store first, even at 0, then every other location
    (empty when the seller closes the panel), with the fingerprint the open panel polls
    with."""
    pk = whole_number(variant_id, minimum=1)
    if pk is None:
        return {}
    variant = Variant.objects.select_related("product").filter(pk=pk).first()
    if variant is None:
        return {}
    fingerprint = stock_fingerprint(variant_ids=[variant.pk])  # before the figures
    return {
        "stock_variant": variant,
        "stock_levels": stock_panel_rows(variant_id=variant.pk, location_id=register.location_id),
        "stock_fingerprint": fingerprint,
    }


def _line_stock_refresh(request, register: Register) -> HttpResponse:
    """The cart's "n here" figures changed: each line's figure, swapped in place (out of
    band) so that the cash being typed and the focus stay as they are, and the poller
    with its new fingerprint. A cart gone (sold, or another register) stops the poll."""
    cart = _open_cart(request, register)
    pricing = cart_price(cart=cart, channel=register.channel) if cart is not None else None
    context = {"register": register}
    if pricing is not None:
        context["cart_stock"] = CartStock(location_id=register.location_id, pricing=pricing)
    return render(request, "pos/sell.html#line_stock_refresh", context)


def _scan(request, register: Register, cart: Cart):
    """Enter in the scan field: an exact barcode or SKU adds one unit; otherwise the only
    search match does; otherwise the seller is told what went wrong.

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
            return _open_by_token(request, register, token)
        if len(matches) != 1:
            if matches:
                raise DomainError(
                    _("Several products match “%(code)s”: pick one below.") % {"code": code}
                ) from None
            raise DomainError(
                _("No product has the barcode or SKU “%(code)s”.") % {"code": code}
            ) from None
        variant = matches[0]
    result = _add(request, register, cart, variant)
    if scan_id:
        request.session[SESSION_SCANS] = [*counted, scan_id][-SCANS_REMEMBERED:]
    return result


def _add_by_id(request, register: Register, cart: Cart):
    variant = get_object_or_404(Variant, pk=request.POST.get("variant"), is_active=True)
    return _add(request, register, cart, variant)


def _add(request, register: Register, cart: Cart, variant: Variant):
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


def _quantity(request, register: Register, cart: Cart):
    form = LineQuantityForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(form.error)
    cart_line_set_quantity(
        cart=cart,
        line_id=form.cleaned_data["line"],
        quantity=form.cleaned_data["quantity"],
        channel=register.channel,
    )


def _tendered(request, pricing, *, part: bool = False) -> Decimal:
    """The cash typed (``part``: the cash part of cash + card)."""
    try:
        return parse_amount(request.POST.get("tendered", ""), pricing.currency)
    except ValueError:
        if part:
            message = _("Type the cash part, e.g. 20 or 20.50.")
        else:
            message = _("Type the cash received, e.g. 50 or 20.50.")
        raise InvalidInput(message, field="tendered") from None


def _change(request, register: Register, cart: Cart):
    """What the cash typed so far gives back (cash), or how the total splits between the
    cash part and the card (cash + card): nothing is recorded."""
    pricing = cart_price(cart=cart, channel=register.channel)
    context = _context(request, register, cart, pricing=pricing)
    split = request.POST.get("tender") == "split"
    try:
        tendered = _tendered(request, pricing, part=split)
        context["tendered"] = tendered
        if split and Decimal(0) < tendered < pricing.total_amount:
            context["card_part"] = pricing.total_amount - tendered
        elif split and tendered <= 0:
            raise DomainError(_("Type the cash part, e.g. 20 or 20.50."))
        else:
            context["change"] = cash_change(
                due=pricing.total_amount, tendered=tendered, currency=pricing.currency
            )
    except DomainError as error:
        context["change_error"] = seller_message(error)
    partial = "split_preview" if split else "change"
    return TemplateResponse(request, f"pos/_tenders.html#{partial}", context)


def _complete(request, register: Register, cart: Cart):
    """Check the cart out at this register: cash now (the default), or "pay in store"
    for an order paid later (a line shipped home or collected elsewhere, for instance)."""
    method = request.POST.get("method") or "cash"
    if method not in ("cash", "pay_in_store"):
        # The other tenders have their own action (a link is sent, a card recorded):
        # never an order waiting for a payment nobody started.
        raise InvalidInput(_("Choose how the customer pays."))
    tendered = None
    if method == "cash":
        tendered = _tendered(request, cart_price(cart=cart, channel=register.channel))
    result = sale_complete(
        register=register,
        cart=cart,
        payment_method=method,
        tendered=tendered,
        seller=request.user,
        shipping_address=_address(request, cart),
    )
    _sale_done(request, result, "cash" if method == "cash" else "pay_in_store")
    return {"clear_customer": True}


def _sale_done(request, result: SaleResult, tender: str) -> None:
    """The sale is checked out: its receipt (``tender``: how it was paid, or
    ``pay_in_store``), and the register starts a new cart."""
    payment, card = result.payment, result.card
    request.session[SESSION_LAST_SALE] = {
        "order_id": result.order.pk,
        "reference": result.order.reference,
        "total": str(result.order.total_amount),
        "method": tender,
        "tendered": str(payment.tendered_amount or payment.amount) if payment else "",
        "change": str(result.change_amount or 0) if payment else "",
        "card": str(card.amount) if card else "",
        "currency": result.order.currency,
    }
    request.session.pop(SESSION_CART, None)
    request.session.pop(SESSION_ADDRESS, None)


# --- The other tenders of the pay area (pos/tenders.py): one action each -------------


def _pay_card(request, register: Register, cart: Cart):
    """Card on the terminal: the terminal approved the total; the sale is checked out and
    the approval recorded, in one action."""
    result = sale_pay_card(
        register=register,
        cart=cart,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
        shipping_address=_address(request, cart),
    )
    _sale_done(request, result, "card")
    return {"clear_customer": True}


def _pay_split(request, register: Register, cart: Cart):
    """Cash + card: the cash part first, the remainder on the card terminal."""
    pricing = cart_price(cart=cart, channel=register.channel)
    result = sale_pay_split(
        register=register,
        cart=cart,
        seller=request.user,
        cash=_tendered(request, pricing, part=True),
        idempotency_key=request.POST.get("key", ""),
        shipping_address=_address(request, cart),
    )
    _sale_done(request, result, "split" if result.card else "cash")
    return {"clear_customer": True}


def _pay_link(request, register: Register, cart: Cart):
    """Payment link: the order is placed and the customer gets a link by SMS; the receipt
    follows the link's status live."""
    pos_limits_count(request)  # an SMS: the permission table's limit, refused inline
    result = sale_pay_link(
        register=register,
        cart=cart,
        seller=request.user,
        phone=request.POST.get("phone", ""),
        language=request.POST.get("language", "fr"),
        idempotency_key=request.POST.get("key", ""),
        shipping_address=_address(request, cart),
    )
    _sale_done(request, result, "link")
    return {"clear_customer": True}


def _new_sale(request, register: Register, cart: Cart):
    request.session.pop(SESSION_LAST_SALE, None)


# --- The customer: find them, open their cart, identify the till's cart ----------------

CART_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PHONE_LIKE = re.compile(r"^[+(]?[\d\s().\-/]{2,}$")


def cart_token_in(text: str) -> str:
    """The cart token in what was typed or scanned: the token itself, or the QR code's
    URL ending in it (``https://shop.example/cart/<token>``, ``...?cart=<token>``)."""
    text = text.strip()
    tail = re.split(r"[/=]", text.split("#")[0].rstrip("/"))[-1]
    return tail if CART_TOKEN.match(tail) and not tail.isdigit() else ""


def _customer_response(request, register: Register, *, status: int = 200, **context):
    """The customer panel (htmx) or the sale page with a message."""
    if not request.htmx:
        if context.get("customer_error"):
            messages.error(request, context["customer_error"])
        return redirect("pos:sell")
    context["register"] = register
    return TemplateResponse(request, "pos/sell.html#customer", context, status=status)


def _find(request, register: Register, cart: Cart):
    """Find a customer by phone (any format) or email and show their open carts (every
    channel) and latest orders; a cart's token or QR code opens that cart straight away."""
    text = request.POST.get("find", "").strip()
    context = {"find": text}
    try:
        if not text:
            raise InvalidInput(_("Type a phone number or an email, or scan the cart's code."))
        if "@" in text:
            customer = customer_find(email=text)
            missing = _("No customer has the email %(email)s.") % {"email": text}
        elif PHONE_LIKE.match(text):
            customer = customer_find(phone=text)
            missing = _("No customer has the phone number %(phone)s.") % {"phone": text}
        elif token := cart_token_in(text):
            return _open_by_token(request, register, token)
        else:
            raise InvalidInput(
                _("“%(text)s” is neither a phone number, an email nor a cart's code.")
                % {"text": text}
            )
        if customer is None:
            raise InvalidInput(missing)
    except DomainError as error:
        return _customer_response(
            request, register, customer_error=error.message, status=422, **context
        )
    context["panel"] = customer_panel(customer=customer, user=request.user)
    context["current_token"] = cart.token
    return _customer_response(request, register, **context)


def _open(request, register: Register, cart: Cart):
    """The customer panel's "Open this cart" button."""
    return _open_by_token(request, register, request.POST.get("token", ""))


def _open_by_token(request, register: Register, token: str):
    """Make the cart with this token the register's current cart: the very same row the
    customer filled elsewhere, not a copy. A foreign, expired or unknown cart is refused
    with the reason; the register keeps its cart."""
    try:
        opened = cart_open_at_register(register=register, token=token)
    except DomainError as error:
        if request.POST.get("action") == "scan":
            raise
        return _customer_response(request, register, customer_error=error.message, status=422)
    request.session[SESSION_CART] = opened.token
    request.session.pop(SESSION_LAST_SALE, None)
    response = _respond(request, register, opened, opened_cart=opened, clear_customer=True)
    if request.htmx and request.POST.get("action") != "scan":
        response = retarget(response, "#workspace")
    return response


def _identify(request, register: Register, cart: Cart):
    """Name the customer of the till's cart: first name, last name, phone, email (one
    contact at least). The customer with this phone (else email) is found, their name
    left as it is, or created; the cart becomes theirs, and if they already have an open
    cart, the till's lines merge into it and it becomes current. Bad input is shown in
    the form, and nothing changes."""
    form = CustomerNameForm(request.POST)
    phone, email = request.POST.get("phone", "").strip(), request.POST.get("email", "").strip()
    try:
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise InvalidInput(errors[0], field=field)
        if not phone and not email:
            raise InvalidInput(_("Type the customer's phone number or email."), field="phone")
        for field, value, check in (
            ("phone", phone, phone_e164),
            ("email", email, email_normalised),
        ):
            try:
                if value:
                    check(value)
            except DomainError as error:
                raise InvalidInput(error.message, field=field) from None
        known = customer_find(phone=phone, email=email)
        names = {} if known else form.cleaned_data
        # The seller sees the customer at the till: their details are verified, and the
        # till's lines may join the customer's own open cart.
        surviving = cart_identify(
            cart=cart,
            phone=phone,
            email=email,
            channel=register.channel,
            verified=True,
            **names,
        )
    except DomainError as error:
        return _respond(
            request,
            register,
            cart,
            identify_error=seller_message(error),
            identify_field=error.details.get("field") or "",
            posted=request.POST,
            status=422,
        )
    request.session[SESSION_CART] = surviving.token
    return {"identified": surviving.customer, "identified_known": known is not None}


def _release(request, register: Register, cart: Cart):
    """Put the opened cart back as it is (the customer will finish it elsewhere): the
    register starts a new cart."""
    request.session.pop(SESSION_CART, None)
    request.session.pop(SESSION_ADDRESS, None)


# --- Per-line fulfilment and the address of lines shipped home ---------------------------


def _fulfilment(request, register: Register, cart: Cart):
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


def _ship_address(request, register: Register, cart: Cart):
    """Keep the address of the lines shipped home for the checkout (checked here for its
    shape, and by checkout again)."""
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return _respond(
            request,
            register,
            cart,
            error=_("Check the shipping address."),
            address_form=form,
            status=422,
        )
    request.session[SESSION_ADDRESS] = {"cart": cart.token, "address": form.address()}
    return {"address_saved": True}


def _edit_address(request, register: Register, cart: Cart):
    request.session.pop(SESSION_ADDRESS, None)


# --- Selling an item the books say is not here (issue 12) -------------------------------


@dataclass(frozen=True)
class UnbookedState:
    """A taken-now line the books lack units of here, as its "Sell anyway" shows it."""

    line_id: int
    missing: int  # units the books lack here for this line now
    approval: UnbookedSale | None  # granted for this line, not yet sold
    error: str = ""  # the refusal of the last attempt, said in the line's form
    reason: str = ""
    note: str = ""

    @property
    def covered(self) -> bool:
        return self.approval is not None and self.approval.quantity >= self.missing


class _LazyUnbooked:
    """The store's policy and, per short taken-now line, the override granted for it
    (one query, read only if the cart has such a line)."""

    def __init__(self, register: Register, cart_stock: CartStock, form: dict | None) -> None:
        self.register = register
        self.cart_stock = cart_stock
        self.form = form or {}

    @property
    def policy(self) -> str:
        return self.register.location.unbooked_sale_policy

    @property
    def allowed(self) -> bool:
        return self.policy != Location.UnbookedSalePolicy.REFUSE

    @property
    def needs_approval(self) -> bool:
        return self.policy == Location.UnbookedSalePolicy.APPROVAL

    reasons = UnbookedSale.Reason.choices

    @property
    def error_elsewhere(self) -> str:
        """A refusal whose line shows no "Sell anyway" form (the store refuses, or the
        books have enough after all): said in the sale's message area instead."""
        error, line_id = self.form.get("error", ""), self.form.get("line")
        if not error or any(state.line_id == line_id for state in self.states):
            return ""
        return error

    @cached_property
    def states(self) -> list[UnbookedState]:
        if not self.allowed:
            return []
        short = [row for row in self.cart_stock.rows if row.where == "here" and row.short]
        if not short:
            return []
        granted = cart_unbooked_sales(
            line_ids=[row.priced.line.pk for row in short],
            location_id=self.register.location_id,
        )
        states = []
        for row in short:
            line = row.priced.line
            form = self.form if self.form.get("line") == line.pk else {}
            states.append(
                UnbookedState(
                    line_id=line.pk,
                    missing=line.quantity - row.free,
                    approval=granted.get(line.pk),
                    error=form.get("error", ""),
                    reason=form.get("reason", ""),
                    note=form.get("note", ""),
                )
            )
        return states


def _unbooked(request, register: Register, cart: Cart):
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
            return _respond(request, register, cart, error=error.message)
        return _respond(
            request,
            register,
            cart,
            unbooked_form={"line": line_id, "error": error.message, "reason": reason, "note": note},
            status=429 if error.http_status == 429 else 422,
        )
    return {"unbooked_approved": sale}


ACTIONS = {
    "scan": _scan,
    "add": _add_by_id,
    "quantity": _quantity,
    "change": _change,
    "complete": _complete,
    "pay_card": _pay_card,
    "pay_split": _pay_split,
    "pay_link": _pay_link,
    "new": _new_sale,
    "find": _find,
    "open": _open,
    "identify": _identify,
    "release": _release,
    "fulfilment": _fulfilment,
    "address": _ship_address,
    "edit_address": _edit_address,
    "unbooked": _unbooked,
}

# Each tender of the pay area is taken by one action (pos/tenders.py).
TENDER_OF_ACTION = {tender.action: tender.code for tender in TENDERS}
