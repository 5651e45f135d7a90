"""Small presentation helpers of the till's templates."""

import uuid

from django import template
from django.utils.html import format_html
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


@register.simple_tag
def tile_choices(tile, sell: str) -> str:
    """The buttons of a search tile's variants (``pos/_catalog.html``, inside the tile's
    one form), each with its "Stock elsewhere" link. Built here rather than with template
    tags: the till renders dozens of them on every keystroke of a search, and this is
    several times cheaper than the same markup as template nodes."""
    where = gettext("Stock elsewhere")
    rows = []
    for choice in tile.choices:
        variant = choice.variant
        free = choice.free
        meta = f"{variant.sku} · {choice.barcode}" if choice.barcode else variant.sku
        stock_url = f"{sell}?stock={variant.pk}"
        rows.append(
            format_html(
                '<li><button type="submit" name="variant" value="{}" class="result-button"'
                ' data-sku="{}"><span class="name">{}</span><span class="meta">{}</span>'
                '<span class="price">{}</span><span class="stock{}">{}</span></button>'
                '<a class="where" href="{}" hx-get="{}" hx-target="#stock"'
                ' hx-swap="outerHTML" hx-sync="#stock:replace" data-sku="{}">{}</a></li>',
                variant.pk,
                variant.sku,
                variant.label or variant.sku,
                meta,
                money(variant.price_amount, variant.currency),
                "" if free else " out",
                ngettext("%(n)s here", "%(n)s here", free) % {"n": free},
                stock_url,
                stock_url,
                variant.sku,
                where,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every part above is escaped by format_html
