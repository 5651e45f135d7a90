"""The sale screen's catalog side: the search, the product grid, a product tile's "more",
the stock panel, and the live polls that keep the stock figures true.

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

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from catalog.models import Variant
from inventory.selectors import stock_fingerprint
from orders.pricing.carts import cart_price
from pos.models import Register
from pos.selectors import (
    CartStock,
    catalog_grid,
    catalog_product_tile,
    catalog_search_tiles,
    stock_panel_rows,
)
from pos.web.common import cart_in_session
from unicommerce.converters import whole_number

LIVE_IDS_MAX = 200  # variant ids one live poll may ask about


def _ids(text: str) -> list[int]:
    """ "12,15" → [12, 15]; [] for anything else (or for too many)."""
    parts = text.split(",")
    ids = [whole_number(part, minimum=1) for part in parts[: LIVE_IDS_MAX + 1]]
    if len(parts) > LIVE_IDS_MAX or None in ids:
        return []
    return ids


def stock_unchanged(request: HttpRequest) -> bool:
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


def search_results(request, register: Register, text: str) -> HttpResponse:
    """Matches, one tile per product with its matching variants, each with what the till
    may sell of it here (as on the cart's lines). Nothing typed: nothing, and the
    product grid shows again."""
    tiles = catalog_search_tiles(text=text, location_id=register.location_id)
    context = {"tiles": tiles, "query": text.strip()}
    return render(request, "pos/_catalog.html#results", context)


def product_tile(request, register: Register, product_id: str) -> HttpResponse:
    """A tile's "more": the product with all its variants."""
    pk = whole_number(product_id, minimum=1)
    tile = catalog_product_tile(product_id=pk, location_id=register.location_id) if pk else None
    if tile is None:
        return HttpResponse(_("This product is no longer sold."), status=404)
    return render(request, "pos/_catalog.html#tile", {"tile": tile, "expanded": True})


def browse_grid(request, register: Register) -> dict:
    """The product grid: ``?browse=<category slug>`` (empty: every category), ``&page=``.
    An unknown category shows every product."""
    page = whole_number(request.GET.get("page", "1"), minimum=1, maximum=10_000) or 1
    slug = request.GET.get("browse", "")[:100]
    grid = catalog_grid(location_id=register.location_id, slug=slug, page=page)
    if grid is None:
        grid = catalog_grid(location_id=register.location_id, page=page)
    return {"grid": grid}


def stock_panel(variant_id: str, register: Register) -> dict:
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


def line_stock_refresh(request, register: Register) -> HttpResponse:
    """The cart's "n here" figures changed: each line's figure, swapped in place (out of
    band) so that the cash being typed and the focus stay as they are, and the poller
    with its new fingerprint. A cart gone (sold, or another register) stops the poll."""
    cart = cart_in_session(request, register)
    pricing = (
        cart_price(cart=cart, channel=register.channel, location=register.location)
        if cart is not None
        else None
    )
    context = {"register": register}
    if pricing is not None:
        context["cart_stock"] = CartStock(location_id=register.location_id, pricing=pricing)
    return render(request, "pos/sell.html#line_stock_refresh", context)
