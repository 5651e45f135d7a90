"""Small presentation helpers of the till's templates."""

import uuid

from django import template

from customers.phones import phone_display

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
