"""Small presentation helpers of the till's templates."""

import uuid
from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from customers.phones import phone_display
from unicommerce.templatetags.money import money

register = template.Library()


@register.filter
def phone(e164: str | None) -> str:
    """``+33612345678`` → ``06 12 34 56 78`` (international form for other countries)."""
    return phone_display(e164) if e164 else ""


@register.filter
def item(mapping: dict | None, key: object) -> object:
    """``mapping|item:key``: a dict's value by a variable key ("" when absent)."""
    return (mapping or {}).get(key, "")


@register.simple_tag
def form_key() -> str:
    """A fresh idempotency key for a payment form (``{% form_key as key %}``): a double
    click sends it twice, and the payment is recorded once."""
    return uuid.uuid4().hex


@register.simple_tag
def sms_languages() -> list[tuple[str, str]]:
    """The languages a payment link's SMS (and pay page) may be sent in."""
    return [("fr", "FR"), ("en", "EN")]


_CHOICE = (
    '<li><button type="submit" name="variant" value="{pk}" class="result-button"'
    ' data-sku="{sku}"><span class="name">{name}</span><span class="meta">{meta}</span>'
    '<span class="price">{price}</span><span class="stock{out}">{here}</span></button>'
    '<a class="where" href="{stock}" hx-get="{stock}" hx-target="#stock"'
    ' hx-swap="outerHTML" hx-sync="#stock:replace" data-sku="{sku}">{where}</a></li>'
)


@register.simple_tag
def tile_choices(tile, sell: str) -> str:
    """The buttons of a search tile's variants (``pos/_catalog.html``, inside the tile's
    one form), each with its "Stock elsewhere" link. Built here rather than with template
    tags: the till renders dozens of them on every keystroke of a search, and this is
    several times cheaper than the same markup as template nodes. Every value is
    escaped (``escape``); the template's own strings are translated as in templates."""
    where = escape(gettext("Stock elsewhere"))
    rows = []
    for choice in tile.choices:
        variant = choice.variant
        sku = escape(variant.sku)
        rows.append(
            _CHOICE.format(
                pk=int(variant.pk),
                sku=sku,
                name=escape(variant.label or variant.sku),
                meta=f"{sku} · {escape(choice.barcode)}" if choice.barcode else sku,
                price=escape(money(variant.price_amount, variant.currency)),
                out="" if choice.free else " out",
                here=escape(ngettext("%(n)s here", "%(n)s here", choice.free) % {"n": choice.free}),
                stock=escape(f"{sell}?stock={int(variant.pk)}"),
                where=where,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped


_OPEN_TILE = (
    '<article class="tile" data-product="{pk}"><div class="tile-picture">{picture}</div>'
    '<div class="tile-body"><h3 class="tile-name">{name}</h3><p class="tile-meta">'
    '<span class="price">{price}</span></p></div>'
    '<form method="post" action="{sell}" hx-post="{sell}" hx-target="#workspace"'
    ' hx-swap="outerHTML"><input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="action" value="add"><ul class="choices">{choices}</ul></form>'
    "{more}</article>"
)
_MORE = (
    '<a class="more" href="{url}" hx-get="{url}" hx-target="closest .tile"'
    ' hx-swap="outerHTML">{text}</a>'
)


@register.simple_tag(takes_context=True)
def open_tile(context, tile) -> str:
    """A product with its variants to tap (a search result, or a grid tile opened): its
    picture, name and price, one form whose buttons are its variants, and a "more" when
    some are not shown. Built here for the same reason as ``tile_choices``: the till's
    search draws a dozen of them on every keystroke."""
    sell = escape(reverse("pos:sell"))
    product = tile.product
    low, high = tile.price_low, tile.price_high
    price = money(low, tile.currency)
    if low != high:
        price = gettext("from %(price)s") % {"price": price}
    if tile.picture:
        picture = f'<img src="{escape(tile.picture)}" alt="" loading="lazy" decoding="async">'
    else:
        picture = (
            f'<span class="tile-placeholder" aria-hidden="true">{escape(product.name[:1].upper())}'
            "</span>"
        )
    more = ""
    if tile.more:
        text = ngettext("%(n)s more variant", "%(n)s more variants", tile.more) % {"n": tile.more}
        more = _MORE.format(url=f"{sell}?product={int(product.pk)}", text=escape(text))
    html = _OPEN_TILE.format(
        pk=int(product.pk),
        picture=picture,
        name=escape(product.name),
        price=escape(price),
        sell=sell,
        csrf=escape(str(context.get("csrf_token", ""))),
        choices=tile_choices(tile, sell),
        more=more,
    )
    return mark_safe(html)  # noqa: S308 - every value above is escaped
