"""Money: Decimal amounts with an explicit ISO 4217 currency, never floats.

Rounding happens here and only here: half-up to the currency's minor unit.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

MAX_DIGITS = 12
DECIMAL_PLACES = 2


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for EUR, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def money_round(amount: Decimal, currency: str) -> Decimal:
    """Half-up rounding to the currency's minor unit: the one rounding rule of the system."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money amounts are Decimal, got {type(amount).__name__}")
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def parse_amount(text: str, currency: str) -> Decimal:
    """A user-typed amount ("12,5", "12.50", " 12 ") as a rounded Decimal.

    Raises ValueError with a readable message for anything that is not a number.
    """
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        raise ValueError("empty amount")
    # Plain ASCII digits with one optional decimal point: Decimal alone would also take
    # "1e3", "Infinity", "+5" and other scripts' digits.
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not an amount")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{text!r} is not an amount")
    if amount >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        raise ValueError(f"{text!r} is too large")
    return money_round(amount, currency)


@lru_cache(maxsize=4096)
def money_format(amount: Decimal, currency: str, language: str) -> str:
    """An amount as the locale writes it: "12,50 €" in French, "€12.50" in English.
    Cached: a screen writes the same prices over and over, and Babel's formatting is the
    dearest part of rendering a page of them."""
    locale = {"fr": "fr_FR", "en": "en_GB"}.get(language.split("-")[0], "en_GB")
    return format_currency(amount, currency, locale=locale)


def vat_included_split(gross: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """The VAT contained in a VAT-inclusive amount, rounded once."""
    vat = gross * rate_percent / (Decimal(100) + rate_percent)
    return money_round(vat, currency)
