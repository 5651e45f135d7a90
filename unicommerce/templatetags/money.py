from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.translation import get_language

from unicommerce.money import money_format

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``{{ line.total_amount|money:"EUR" }}`` → "12,50 €" (fr) or "€12.50" (en)."""
    if amount is None or amount == "":
        return ""
    return money_format(Decimal(amount), currency or settings.DEFAULT_CURRENCY, get_language())
