"""E-mail addresses as customers records them (``customers.phones`` is the same for phone
numbers)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.exceptions import InvalidEmail


def email_normalised(raw: str) -> str:
    """Trimmed and lower-cased (mailboxes are case-insensitive in practice), or InvalidEmail."""
    text = (raw or "").strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise InvalidEmail(raw) from None
    return text
