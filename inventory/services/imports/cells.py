"""Parsing one cell of an import file; a wrong value raises ``CellError`` with the
message of its row error."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import is_currency
from django.conf import settings
from django.utils.translation import gettext as _

from catalog.models import VatRate
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS, minor_unit

YES = frozenset({"yes", "y", "true", "1", "oui", "o", "vrai"})
NO = frozenset({"no", "n", "false", "0", "non", "faux"})
VAT_RATES = tuple(Decimal(value) for value in VatRate.values)
MAX_QUANTITY = 1_000_000_000

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WHOLE = re.compile(r"\d+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SPACES = str.maketrans("", "", " \u00a0\u202f")


class CellError(Exception):
    """A cell's value is wrong; the message says why (becomes one row error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_vat(text: str) -> Decimal:
    cleaned = text.translate(_SPACES).removesuffix("%").replace(",", ".")
    if _NUMBER.fullmatch(cleaned):
        value = Decimal(cleaned)
        for rate in VAT_RATES:
            if rate == value:
                return rate
    raise CellError(_("A VAT rate is 20, 10, 5.5 or 2.1."))


def parse_price(text: str, currency: str) -> Decimal:
    cleaned = text.translate(_SPACES).replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise CellError(_("A price is an amount of zero or more, such as 19.90 or 19,90."))
    value = Decimal(cleaned)
    places = min(-minor_unit(currency).as_tuple().exponent, DECIMAL_PLACES)
    if value.quantize(Decimal(1).scaleb(-places)) != value:
        raise CellError(
            _("A price in %(currency)s has at most %(places)s decimals.")
            % {"currency": currency, "places": places}
        )
    if value >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        raise CellError(_("This price is too large."))
    return value


def parse_currency(text: str) -> str:
    if not text:
        return settings.DEFAULT_CURRENCY
    code = text.upper()
    if not _CURRENCY.fullmatch(code) or not is_currency(code):
        raise CellError(_("A currency is an ISO 4217 code such as EUR."))
    return code


def parse_active(text: str) -> bool:
    lowered = text.lower()
    if not lowered or lowered in YES:
        return True
    if lowered in NO:
        return False
    raise CellError(_("Write yes or no."))


def parse_quantity(text: str) -> int:
    if not _WHOLE.fullmatch(text) or int(text) > MAX_QUANTITY:
        raise CellError(_("A quantity is a whole number of zero or more."))
    return int(text)


def format_vat(rate: Decimal) -> str:
    return format(rate.normalize(), "f")
