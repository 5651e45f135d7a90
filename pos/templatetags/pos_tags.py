"""Small presentation helpers of the till's templates."""

import uuid
from html import escape

from django import template
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
