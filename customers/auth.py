"""Customer sign-in on a channel's front end, without a password.

1. ``login_code_send``: the customer gives their email or phone; if a live customer
   has it, a 6-digit code goes to them (SMS for a phone, e-mail for an address) and only
   its hash is kept, for ``LOGIN_CODE_TTL`` and ``LOGIN_CODE_MAX_ATTEMPTS`` tries. The
   caller answers the same whether or not someone was found (no account enumeration),
   and no customer is ever created here.
2. ``login_code_exchange``: the right code gives an ``AccessToken`` valid
   ``ACCESS_TOKEN_TTL`` on that channel; only the token's SHA-256 is stored.
3. ``access_token_authenticate`` reads ``Authorization: Customer <token>`` (see
   ``customers.api.authentication``); ``access_token_revoke`` signs out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import SalesChannel
from customers.models import AccessToken, Customer, LoginCode
from customers.services import customer_find
from unicommerce.exceptions import InvalidInput

LOGIN_CODE_TTL = timedelta(minutes=10)
LOGIN_CODE_MAX_ATTEMPTS = 5
# A new code is sent at most this often per customer and channel (against SMS flooding).
LOGIN_CODE_RESEND_AFTER = timedelta(seconds=60)
ACCESS_TOKEN_TTL = timedelta(days=30)
TOKEN_PREFIX = "ucc_"  # noqa: S105 - a prefix, not a secret
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=5)


class LoginCodeInvalid(InvalidInput):
    code = "login_code_invalid"

    def __init__(self) -> None:
        super().__init__(
            _("This code is wrong or has expired. Ask for a new one."),
        )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_hash(code: str, *, customer_id: int, channel_id: int) -> str:
    # Keyed by the site's secret: a leaked table of 6-digit hashes cannot be reversed by
    # trying the million codes.
    message = f"login-code:{customer_id}:{channel_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeSent:
    """What ``login_code_send`` did, for tests and logs; never shown to the caller."""

    customer: Customer | None
    code: str = ""
    channel: str = ""


def login_code_send(*, channel: SalesChannel, email: str = "", phone: str = "") -> CodeSent:
    """Send a sign-in code to the live customer with this email or phone, if any (not
    again within ``LOGIN_CODE_RESEND_AFTER``: the previous code stays valid).

    Raises InvalidPhone / InvalidEmail / IdentityRequired for malformed input only; an
    unknown but well-formed address sends nothing and returns ``CodeSent(None)``.
    """
    from unicommerce.messaging.services import message_send

    customer = customer_find(email=email, phone=phone)
    if customer is None:
        return CodeSent(None)
    now = timezone.now()
    recent = LoginCode.objects.filter(
        customer=customer,
        channel=channel,
        used_at__isnull=True,
        created_at__gt=now - LOGIN_CODE_RESEND_AFTER,
    )
    if recent.exists():
        return CodeSent(customer)  # the code sent a moment ago is still the one to use
    code = f"{secrets.randbelow(1_000_000):06d}"
    by_sms = bool(phone and customer.phone) or not customer.email
    body = _("Your %(shop)s sign-in code: %(code)s. It expires in 10 minutes.") % {
        "shop": channel.name,
        "code": code,
    }
    with transaction.atomic():
        # A new code replaces the ones before it.
        LoginCode.objects.filter(customer=customer, channel=channel, used_at__isnull=True).update(
            used_at=now
        )
        login_code = LoginCode.objects.create(
            customer=customer,
            channel=channel,
            code_hash=_code_hash(code, customer_id=customer.pk, channel_id=channel.pk),
            expires_at=now + LOGIN_CODE_TTL,
        )
        message_send(
            channel="sms" if by_sms else "email",
            to=customer.phone if by_sms else customer.email,
            subject="" if by_sms else _("Your sign-in code"),
            body=body,
            kind="customer_login_code",
            customer_id=customer.pk,
            reference=f"login-code:{login_code.pk}",
        )
    return CodeSent(customer, code, "sms" if by_sms else "email")


def login_code_exchange(
    *, channel: SalesChannel, code: str, email: str = "", phone: str = ""
) -> tuple[AccessToken, str]:
    """Trade a valid code for an access token. Returns (token row, raw token), the raw
    token shown this once. Any failure is the same LoginCodeInvalid (no hint whether the
    customer exists); each wrong try counts, and the fifth burns the code."""
    customer = customer_find(email=email, phone=phone)
    if customer is None:
        raise LoginCodeInvalid()
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        login_code = (
            LoginCode.objects.select_for_update()
            .filter(
                customer=customer,
                channel=channel,
                used_at__isnull=True,
                expires_at__gt=now,
                attempts__lt=LOGIN_CODE_MAX_ATTEMPTS,
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if login_code is None:
            raise LoginCodeInvalid()
        given = _code_hash(code, customer_id=customer.pk, channel_id=channel.pk)
        if not hmac.compare_digest(login_code.code_hash, given):
            LoginCode.objects.filter(pk=login_code.pk).update(attempts=F("attempts") + 1)
            wrong = True
        else:
            login_code.used_at = now
            login_code.save(update_fields=["used_at"])
            wrong = False
    if wrong:
        # Outside the atomic block so the counted attempt is kept.
        raise LoginCodeInvalid()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        customer=customer,
        channel=channel,
        key_hash=_hash(raw),
        expires_at=now + ACCESS_TOKEN_TTL,
    )
    return token, raw


def access_token_authenticate(*, raw_token: str) -> AccessToken | None:
    """The live token (with its customer and channel), or None: unknown, expired,
    revoked, on an inactive channel, or its customer erased."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        AccessToken.objects.select_related("customer", "channel")
        .filter(
            key_hash=_hash(raw_token),
            revoked_at__isnull=True,
            expires_at__gt=now,
            channel__is_active=True,
            customer__erased_at__isnull=True,
        )
        .first()
    )
    if token is None:
        return None
    if token.customer.merged_into_id is not None:
        # Merges move tokens to the survivor; a token still here is stale.
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def access_token_revoke(*, token: AccessToken) -> None:
    AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
