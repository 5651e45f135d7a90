"""How deliveries are signed, and how a receiver checks them (docs/webhooks.md).

Header ``Unicommerce-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256(secret, f"{t}.".encode() + raw_body). A receiver recomputes it over the raw
bytes it received, compares in constant time, and refuses a ``t`` outside its replay
window. Pure standard library, so a receiver may copy the recipe as is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Unicommerce-Signature"
EVENT_ID_HEADER = "Unicommerce-Event-Id"
EVENT_TYPE_HEADER = "Unicommerce-Event-Type"
ATTEMPT_HEADER = "Unicommerce-Attempt"
DEFAULT_TOLERANCE = 300  # seconds


class SignatureError(ValueError):
    """The delivery is not signed by the shared secret, or is too old (a replay)."""


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a delivery; return its timestamp, or raise SignatureError saying why."""
    if not header:
        raise SignatureError("missing signature header")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("no timestamp in the signature header") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the replay window")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise SignatureError("signature does not match")
    return timestamp
