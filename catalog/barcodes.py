"""GS1 barcode check digits (EAN-13, EAN-8, UPC-A): a mistyped code is refused at entry."""

from __future__ import annotations

GS1_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}


def gs1_check_digit(body: str) -> int:
    """The check digit for the digits before it: weights 3,1,3,1… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def barcode_problem(code: str) -> str | None:
    """None when ``code`` is a valid EAN-13/EAN-8/UPC-A, else what is wrong with it."""
    if not (code.isascii() and code.isdecimal()):  # "٤" and "²" are digits to isdigit()
        return "a barcode has digits only"
    if len(code) not in GS1_LENGTHS:
        return "a barcode has 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13) digits"
    if gs1_check_digit(code[:-1]) != int(code[-1]):
        return f"wrong check digit for an {GS1_LENGTHS[len(code)]} barcode"
    return None


def ean13_from(body12: str) -> str:
    """Complete a 12-digit body with its check digit."""
    return body12 + str(gs1_check_digit(body12))
