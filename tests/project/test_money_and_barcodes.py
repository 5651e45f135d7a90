from decimal import Decimal

import pytest

from catalog.barcodes import barcode_problem, ean13_from
from unicommerce.money import money_format, money_round, parse_amount, vat_included_split


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "EUR", "2.35"),  # half-up, not banker's rounding
        ("2.325", "EUR", "2.33"),
        ("-2.345", "EUR", "-2.35"),
        ("149.5", "JPY", "150"),
        ("1.2345", "KWD", "1.235"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, expected):
    assert money_round(Decimal(amount), currency) == Decimal(expected)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        money_round(2.5, "EUR")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12,5", "12.50"), (" 1 234,56 ", "1234.56"), ("20", "20.00"), ("0.005", "0.01")],
)
def test_typed_amounts_are_read_in_either_notation(text, expected):
    assert parse_amount(text, "EUR") == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["1e3", "1E-2", "Infinity", "NaN", "+5", "-5", "\u0661\u0662", "12.5.0", "5€", "."]
)
def test_anything_but_a_plain_amount_is_refused(text):
    # "1e3" typed in the cash field must not become €1,000.00.
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text, "EUR")


def test_amounts_are_written_as_the_locale_writes_them():
    assert money_format(Decimal("1234.5"), "EUR", "fr") == "1\u202f234,50\u00a0€"
    assert money_format(Decimal("1234.5"), "EUR", "en") == "€1,234.50"


def test_vat_contained_in_a_vat_inclusive_price():
    assert vat_included_split(Decimal("120.00"), Decimal("20.0"), "EUR") == Decimal("20.00")
    assert vat_included_split(Decimal("10.55"), Decimal("5.5"), "EUR") == Decimal("0.55")


@pytest.mark.parametrize("code", ["4006381333931", "96385074", "036000291452"])
def test_valid_gs1_barcodes(code):
    assert barcode_problem(code) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("4006381333932", "wrong check digit for an EAN-13 barcode"),
        ("40063813339", "a barcode has 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13) digits"),
        ("40063813339A", "a barcode has digits only"),
    ],
)
def test_invalid_barcodes_say_why(code, problem):
    assert barcode_problem(code) == problem


def test_check_digit_completion():
    assert ean13_from("400638133393") == "4006381333931"
