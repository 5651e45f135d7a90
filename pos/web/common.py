"""What every POS screen shares: the seller's register and the sale's cart, both kept in
the session; the login check that reloads a till whose session ended; the never-cached
answer of a live poll."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.db.models.functions import Now
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRefresh

from orders.models import Cart
from orders.services.carts import cart_create
from pos.models import Register
from pos.selectors import registers_for

SESSION_REGISTER = "pos_register_id"
SESSION_CART = "pos_cart_token"
SESSION_LAST_SALE = "pos_last_sale"
SESSION_ADDRESS = "pos_ship_address"  # {"cart": token, "address": {...}}
SESSION_CARD_CODES = "pos_card_codes"  # {"cart": token, "codes": {variant id: [codes]}}
SESSION_GIFT_CARD = "pos_gift_card"  # {"cart": token, "code", "last4", "balance", "currency"}


def live(response: HttpResponse) -> HttpResponse:
    """A live partial's answer is never reused from a cache: it is only true now."""
    add_never_cache_headers(response)
    return response


def register_current(request: HttpRequest) -> Register | None:
    """The register the seller picked (``pos:home``), if it is still one of theirs."""
    register_id = request.session.get(SESSION_REGISTER)
    if register_id is None:
        return None
    return registers_for(request.user).filter(pk=register_id).first()


def register_pick(request: HttpRequest) -> HttpResponse:
    """No register picked: back to the page that picks one (htmx: the page reloads)."""
    return HttpResponseClientRefresh() if request.htmx else redirect("pos:home")


def cart_in_session(request: HttpRequest, register: Register) -> Cart | None:
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


def cart_current(request: HttpRequest, register: Register) -> Cart:
    """The sale in progress at this register (a server-side cart on the store's channel)."""
    cart = cart_in_session(request, register)
    if cart is None:
        cart = cart_create(channel=register.channel)
        request.session[SESSION_CART] = cart.token
    return cart


def address_kept(request, cart: Cart) -> dict | None:
    """The address typed for this cart's lines shipped home (``pos.web.lines``)."""
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
