"""Small presentation helpers of the till's templates."""

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
