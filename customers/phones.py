"""Phone numbers to E.164, from French and international formats.

``06 12 34 56 78``, ``+33 6 12 34 56 78``, ``0033612345678`` and ``+44 20 7946 0958`` all
parse; a number without a country prefix is read in ``PHONE_DEFAULT_REGION`` (FR).
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from customers.exceptions import InvalidPhone


def phone_e164(raw: str, *, region: str | None = None) -> str:
    """The number in E.164 (``+33612345678``), or InvalidPhone."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """A readable form: national for the default region, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONE_DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)
