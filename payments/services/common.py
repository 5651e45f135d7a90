"""The small checks and helpers that payments' services share."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import get_language

from payments.exceptions import CardNumberRefused, PaymentAmountInvalid
from payments.models import Payment
from unicommerce.money import money_round


def request_hash(**parts: Any) -> str:
    """The fingerprint of a request, kept with its idempotency key: the same key with
    another request is refused (``idempotency_key_reused``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_key_or_new(key: str | None) -> str:
    """The caller's key, or a fresh one (a call that will not be retried)."""
    return key or f"auto-{uuid.uuid4()}"


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def token_check(token: str) -> None:
    """Refuse anything that looks like a card number (it must never be stored or sent)."""
    digits = re.sub(r"[\s-]", "", token or "")
    if re.fullmatch(r"\d{12,19}", digits) and _luhn(digits):
        raise CardNumberRefused()


def amount_check(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded to the currency's minor unit; refused when not more than zero
    (``payment_amount_invalid``)."""
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or money_round(amount, currency) <= 0:
        raise PaymentAmountInvalid(amount=amount, currency=currency)
    return money_round(amount, currency)


def payment_update(payment: Payment, **fields: Any) -> None:
    """Set ``fields`` on a (locked) payment and save just them."""
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.save(update_fields=[*fields, "updated_at"])


def language_now() -> str:
    """The language of what is written now (an SMS sent by a worker: the site's)."""
    return get_language() or settings.LANGUAGE_CODE
