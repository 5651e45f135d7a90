"""Secrets that travel in URLs, kept out of logs.

A payment link's token (``/pay/<token>/``) or a cart's (``/api/v1/carts/<token>/``) lets
whoever holds it pay or fill that cart: neither the access log (gunicorn's
``TokenMaskingLogger``) nor Django's own request log ("Not Found: /pay/…") may keep it.
"""

from __future__ import annotations

import logging
import re

# The URLs whose path segment is a bearer secret, and query parameters that carry one.
_SECRET_PATH = re.compile(r"(/pay/|/api/v1/carts/)[^/?#\s\"]+")
_SECRET_QUERY = re.compile(r"(?i)\b(token|cart|code)=[^&#\s\"]*")


def mask_secrets(text: str) -> str:
    """``text`` (a request line, a path, a referer…) with its URL secrets as ``***``."""
    text = _SECRET_PATH.sub(r"\1***", text)
    return _SECRET_QUERY.sub(r"\1=***", text)


class SecretMaskingFilter(logging.Filter):
    """A logging filter: the record's message with its URL secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
