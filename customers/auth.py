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
4. ``contact_change_request`` / ``contact_change_confirm``: a signed-in customer's new
   e-mail or phone replaces the old one only once a code sent to the new one comes back.

Against guessing and flooding (``settings.RATE_LIMITS``): code requests are counted per
contact and overall (and per client address by the API's permission table), before
anyone is looked up, so a limit says nothing about whether a customer exists; code
attempts are counted per code (``LOGIN_CODE_MAX_ATTEMPTS``), per contact and overall;
SMS per number and per channel by ``message_send``. A code's text is not kept once sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.emails import email_normalised
from customers.exceptions import (
    ContactChangeOne,
    ContactUnchanged,
    IdentityRequired,
    LoginCodeInvalid,
)
from customers.models import AccessToken, Customer, LoginCode
from customers.phones import phone_e164
from customers.selectors import customer_find
from customers.services.profile import customer_update
from unicommerce.channels.models import SalesChannel
from unicommerce.ratelimit import RateLimited, rate_limit_hit

LOGIN_CODE_TTL = timedelta(minutes=10)
LOGIN_CODE_MAX_ATTEMPTS = 5
# A new code is sent at most this often per customer and channel (against SMS flooding).
LOGIN_CODE_RESEND_AFTER = timedelta(seconds=60)
ACCESS_TOKEN_TTL = timedelta(days=30)
TOKEN_PREFIX = "ucc_"  # noqa: S105 - a prefix, not a secret
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_hash(code: str, *, customer_id: int, channel_id: int, target: str = "") -> str:
    # Keyed by the site's secret: a leaked table of 6-digit hashes cannot be reversed by
    # trying the million codes. A contact change's code is bound to the new contact, so
    # neither kind of code can stand for the other.
    scope = f"contact:{target}" if target else "login-code"
    message = f"{scope}:{customer_id}:{channel_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _contact_key(email: str, phone: str) -> str:
    """The contact a request names, normalised, for per-contact limits (malformed input
    raises InvalidEmail / InvalidPhone / IdentityRequired)."""
    if phone:
        return phone_e164(phone)
    if email:
        return email_normalised(email)
    raise IdentityRequired()


@dataclass(frozen=True)
class CodeSent:
    """What ``login_code_send`` did, for tests and logs; never shown to the caller."""

    customer: Customer | None
    code: str = ""
    channel: str = ""


def login_code_send(*, channel: SalesChannel, email: str = "", phone: str = "") -> CodeSent:
    """Send a sign-in code to the live customer with this email or phone, if any (not
    again within ``LOGIN_CODE_RESEND_AFTER``: the previous code stays valid).

    Raises InvalidPhone / InvalidEmail / IdentityRequired for malformed input, and
    RateLimited when this contact (or everyone) asked too often — counted before anyone
    is looked up, so it says nothing about whether the customer exists; an unknown but
    well-formed address sends nothing and returns ``CodeSent(None)``.
    """
    from unicommerce.messaging.services import sms_destination_check

    contact = _contact_key(email, phone)
    if phone:
        # Before anyone is looked up: a number we do not text is refused for everyone.
        sms_destination_check(contact)
    rate_limit_hit("login_code_request_global", "all")
    rate_limit_hit("login_code_request_per_contact", contact)
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
    try:
        _login_code_issue(customer=customer, channel=channel, code=code, by_sms=by_sms, now=now)
    except RateLimited:
        # The SMS limits of this number or channel: no code now. The caller is told what
        # an unknown contact is told (a limit here would say the customer exists).
        return CodeSent(customer)
    return CodeSent(customer, code, "sms" if by_sms else "email")


def _login_code_issue(
    *, customer: Customer, channel: SalesChannel, code: str, by_sms: bool, now: datetime
) -> None:
    """Keep the new sign-in code's hash and send the code, in one transaction: a message
    the SMS limits refuse (RateLimited) leaves no code and the previous ones valid."""
    from unicommerce.messaging.services import message_send

    body = _("Your %(shop)s sign-in code: %(code)s. It expires in 10 minutes.") % {
        "shop": channel.name,
        "code": code,
    }
    with transaction.atomic():
        # A new code replaces the ones before it.
        LoginCode.objects.filter(
            customer=customer,
            channel=channel,
            purpose=LoginCode.Purpose.SIGN_IN,
            used_at__isnull=True,
        ).update(used_at=now)
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
            redact_after_send=True,  # the code must not outlive the message
            sender=channel.code,
        )


def login_code_exchange(
    *, channel: SalesChannel, code: str, email: str = "", phone: str = ""
) -> tuple[AccessToken, str]:
    """Trade a valid code for an access token. Returns (token row, raw token), the raw
    token shown this once. Any failure is the same LoginCodeInvalid (no hint whether the
    customer exists); each wrong try counts, and the fifth burns the code."""
    contact = _contact_key(email, phone)
    rate_limit_hit("login_code_attempt_global", "all")
    rate_limit_hit("login_code_attempt_per_contact", contact)
    customer = customer_find(email=email, phone=phone)
    if customer is None:
        raise LoginCodeInvalid()
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        login_code = _pending_code(
            now=now, customer=customer, channel=channel, purpose=LoginCode.Purpose.SIGN_IN
        )
        if login_code is None:
            raise LoginCodeInvalid()
        wrong = not _code_right(login_code, code)
        if not wrong:
            LoginCode.objects.filter(pk=login_code.pk).update(used_at=now)
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


def _pending_code(*, now, **filters) -> LoginCode | None:
    """The latest live code of this kind (not used, not expired, tries left), locked."""
    return (
        LoginCode.objects.select_for_update()
        .filter(
            used_at__isnull=True,
            expires_at__gt=now,
            attempts__lt=LOGIN_CODE_MAX_ATTEMPTS,
            **filters,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def _code_right(row: LoginCode, code: str) -> bool:
    """Does ``code`` match this row? A wrong one counts against it (the caller raises
    outside its transaction, so the count is kept)."""
    given = _code_hash(
        code, customer_id=row.customer_id, channel_id=row.channel_id, target=row.target
    )
    if hmac.compare_digest(row.code_hash, given):
        return True
    LoginCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    return False


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


# --------------------------------------------------------------------------- contact change


@dataclass(frozen=True)
class ContactChangeSent:
    """What ``contact_change_request`` did (for tests and logs; never shown)."""

    field: str
    target: str
    code: str


def contact_change_request(
    *, customer: Customer, channel: SalesChannel, email: str = "", phone: str = ""
) -> ContactChangeSent:
    """Send a code to the customer's *new* e-mail or phone. Nothing changes until
    ``contact_change_confirm`` gets that code back: whoever holds a customer's token
    cannot move their account to a contact they do not own, and a typo cannot lock the
    customer out. A new request replaces the pending one. RateLimited after
    ``contact_change_per_customer`` requests (each one a message to a stranger, maybe)."""
    from unicommerce.messaging.services import message_send

    if bool(email) == bool(phone):
        raise ContactChangeOne()
    field = "phone" if phone else "email"
    target = phone_e164(phone) if phone else email_normalised(email)
    if getattr(customer, field) == target:
        raise ContactUnchanged()
    rate_limit_hit("contact_change_per_customer", customer.pk)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    body = _("Your %(shop)s code to confirm this contact: %(code)s. It expires in 10 minutes.") % {
        "shop": channel.name,
        "code": code,
    }
    with transaction.atomic():
        LoginCode.objects.filter(
            customer=customer, purpose=LoginCode.Purpose.CONTACT_CHANGE, used_at__isnull=True
        ).update(used_at=now)
        change = LoginCode.objects.create(
            customer=customer,
            channel=channel,
            purpose=LoginCode.Purpose.CONTACT_CHANGE,
            target=target,
            code_hash=_code_hash(
                code, customer_id=customer.pk, channel_id=channel.pk, target=target
            ),
            expires_at=now + LOGIN_CODE_TTL,
        )
        message_send(
            channel="sms" if field == "phone" else "email",
            to=target,
            subject="" if field == "phone" else _("Confirm your new e-mail address"),
            body=body,
            kind="customer_contact_change",
            customer_id=customer.pk,
            reference=f"contact-change:{change.pk}",
            redact_after_send=True,
            sender=channel.code,
        )
    return ContactChangeSent(field, target, code)


def contact_change_confirm(*, customer: Customer, code: str) -> Customer:
    """The code sent to the new contact: it replaces the old one (``customer_update``:
    CustomerIdentityTaken if another customer has it meanwhile). A wrong code counts
    against the pending change (``LOGIN_CODE_MAX_ATTEMPTS``); any failure is the same
    LoginCodeInvalid."""
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        change = _pending_code(now=now, customer=customer, purpose=LoginCode.Purpose.CONTACT_CHANGE)
        if change is None:
            raise LoginCodeInvalid()
        wrong = not _code_right(change, code)
        if not wrong:
            field = "email" if "@" in change.target else "phone"
            customer = customer_update(customer=customer, **{field: change.target})
            LoginCode.objects.filter(pk=change.pk).update(used_at=now)
    if wrong:
        raise LoginCodeInvalid()  # outside the atomic block: the attempt is counted
    return customer
