"""Gift cards: codes, issue, lookup, redeem, refund to card, adjust, expire
(docs/loyalty.md, "Gift cards").

A card's balance is never stored: it is the sum of its ledger rows (``GiftCardEntry``).
Every movement takes the card's row lock (``loyalty.locks.gift_card_lock``) before it
reads the balance, so two tills spending the last of a card run one after the other
and the second sees the first: the balance never goes below zero. Lock order for
callers that hold other locks: the order first, then the card.

The code is a bearer secret. Only its SHA-256 and last four characters are kept; the
clear code is returned once, by ``gift_card_issue``. Every lookup by code goes through
``gift_card_find``: rate-limited per caller, and one answer (``gift_card_invalid``) for
every failure, so a guesser learns nothing about which codes exist.

An ``idempotency_key`` makes a movement safe to send again (a gateway call replayed
after a crash, an event handled twice): the same key answers the row it wrote.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.exceptions import (
    GiftCardAmountInvalid,
    GiftCardCodeInvalid,
    GiftCardCurrencyMismatch,
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardKeyReused,
    GiftCardReasonRequired,
    GiftCardRefundExceedsRedeemed,
)
from loyalty.locks import gift_card_lock
from loyalty.models import GiftCard, GiftCardEntry
from unicommerce.actors import acting_user
from unicommerce.exceptions import InvalidInput
from unicommerce.money import money_round
from unicommerce.ratelimit import rate_limit_check, rate_limit_hit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.models import Customer
    from customers.services.gdpr import ErasedIdentity

Kind = GiftCardEntry.Kind

# Crockford's base 32: digits and capitals without I, L, O, U (read as 1, 1, 0, and
# avoided so that no code spells a word). 16 characters: 80 bits of entropy.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
CODE_MAX_LENGTH = 64  # a physical card's own code, scanned at the till
_SEPARATORS = re.compile(r"[\s\-_.]+")
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
LOOKUP_LIMIT = "gift_card_lookup_per_caller"
FAILED_LOOKUP_LIMIT = "gift_card_lookup_failed_per_caller"


# --- codes


def gift_card_code_new() -> str:
    """A new code: 16 characters drawn by ``secrets`` from Crockford's alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def gift_card_code_normalise(text: str) -> str:
    """What a person typed or a scanner read, as the code is stored: capitals, without
    spaces or dashes, O read as 0 and I or L as 1 (Crockford's decoding)."""
    return _SEPARATORS.sub("", str(text or "")).upper().translate(_CONFUSABLE)


def gift_card_code_display(code: str) -> str:
    """The code in groups of four, as printed and sent: ``ABCD-EFGH-JKMN-PQRS``."""
    code = gift_card_code_normalise(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def gift_card_code_hash(code: str) -> str:
    """The SHA-256 of the normalised code: what the database keeps (``code_hash``)."""
    return hashlib.sha256(gift_card_code_normalise(code).encode()).hexdigest()


def gift_card_code_valid(code: str) -> bool:
    """Is the normalised ``code`` long enough and made of the alphabet only?"""
    return CODE_LENGTH <= len(code) <= CODE_MAX_LENGTH and all(c in ALPHABET for c in code)


# --- reads


def gift_card_balance(card: GiftCard) -> Decimal:
    """What is left on the card: the sum of its ledger rows."""
    total = GiftCardEntry.objects.filter(card_id=card.pk).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else Decimal("0.00")


def gift_card_usable(card: GiftCard, *, now: datetime | None = None) -> bool:
    """Active and not past its expiry."""
    now = now or timezone.now()
    return card.is_active and (card.expires_at is None or card.expires_at > now)


def gift_card_find(*, code: str, caller: str) -> GiftCard:
    """The usable card of ``code``. Unknown, malformed, blocked and expired codes all
    raise the same ``GiftCardInvalid``, whose message and details are the same.

    Each lookup counts against ``gift_card_lookup_per_caller`` and each failure against
    ``gift_card_lookup_failed_per_caller`` (``caller``: an IP, a till, an API key): once
    the failures are used up, even a right code is refused (``RateLimited``) until the
    window passes, so guessing costs the guesser time, not us money."""
    caller = str(caller or "anonymous")
    rate_limit_check(FAILED_LOOKUP_LIMIT, caller)
    rate_limit_hit(LOOKUP_LIMIT, caller)
    normalised = gift_card_code_normalise(code)
    card = None
    if gift_card_code_valid(normalised):
        card = GiftCard.objects.filter(code_hash=gift_card_code_hash(normalised)).first()
    if card is None or not gift_card_usable(card):
        rate_limit_hit(FAILED_LOOKUP_LIMIT, caller)
        raise GiftCardInvalid()
    return card


# --- issue


@dataclass(frozen=True)
class IssuedCard:
    """A new card and its clear code, given this once (empty when the same idempotency
    key answers a card issued before: its code was given then, and is kept nowhere)."""

    card: GiftCard
    code: str

    @property
    def display(self) -> str:
        return gift_card_code_display(self.code) if self.code else ""


def _amount_check(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or money_round(amount, currency) <= 0:
        raise GiftCardAmountInvalid(amount=amount, currency=currency)
    return money_round(amount, currency)


def _validity_end(expires_at: datetime | None) -> datetime | None:
    if expires_at is not None:
        return expires_at
    days = int(getattr(settings, "GIFT_CARD_VALIDITY_DAYS", 365) or 0)
    return timezone.now() + timedelta(days=days) if days > 0 else None


def _issue_check(purpose: str, delivery: str, recipient: str) -> None:
    if purpose not in GiftCard.Purpose.values:
        raise InvalidInput(
            _("Unknown gift card purpose: %(purpose)s.") % {"purpose": purpose},
            field="purpose",
            allowed=list(GiftCard.Purpose.values),
        )
    if delivery not in GiftCard.Delivery.values:
        raise InvalidInput(
            _("Unknown gift card delivery: %(delivery)s.") % {"delivery": delivery},
            field="delivery",
            allowed=list(GiftCard.Delivery.values),
        )
    if delivery != GiftCard.Delivery.PHYSICAL and not recipient.strip():
        raise InvalidInput(_("An e-card needs a recipient."), field="recipient")


def _code_given(code: str) -> str:
    normalised = gift_card_code_normalise(code)
    if not gift_card_code_valid(normalised):
        raise GiftCardCodeInvalid(reason="format")
    if GiftCard.objects.filter(code_hash=gift_card_code_hash(normalised)).exists():
        raise GiftCardCodeInvalid(reason="taken")
    return normalised


def _issue_replayed(key: str | None, *, amount: Decimal, currency: str) -> IssuedCard | None:
    if not key:
        return None
    entry = GiftCardEntry.objects.select_related("card").filter(idempotency_key=key).first()
    if entry is None:
        return None
    if (entry.kind, entry.amount, entry.card.currency) != (Kind.ISSUE, amount, currency):
        raise GiftCardKeyReused(key=key)
    return IssuedCard(entry.card, "")


def gift_card_issue(
    *,
    amount: Decimal,
    currency: str,
    purpose: str,
    delivery: str = GiftCard.Delivery.PHYSICAL,
    recipient: str = "",
    customer: Customer | None = None,
    source: str = "",
    expires_at: datetime | None = None,
    code: str | None = None,
    user: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> IssuedCard:
    """A new card of ``amount`` and its ``issue`` row. ``code``: a physical card's own
    (scanned at the till; at least 16 characters of the alphabet, not another card's:
    ``gift_card_code_invalid``); otherwise a new one is drawn. Valid until ``expires_at``
    (default: ``GIFT_CARD_VALIDITY_DAYS`` from now). The clear code is in the answer
    only; the same ``idempotency_key`` answers the card issued before, without it."""
    currency = currency.upper()
    amount = _amount_check(amount, currency)
    _issue_check(purpose, delivery, recipient)
    with transaction.atomic():
        issued = _issue_replayed(idempotency_key, amount=amount, currency=currency)
        if issued is not None:
            return issued
        clear = _code_given(code) if code is not None else gift_card_code_new()
        fields = {
            "currency": currency,
            "initial_amount": amount,
            "purpose": purpose,
            "delivery": delivery,
            "recipient": recipient.strip()[:254],
            "customer": customer,
            "source": source[:100],
            "expires_at": _validity_end(expires_at),
        }
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the caller's work
                card = _card_create(clear, fields, amount, idempotency_key, user)
        except IntegrityError:
            issued = _issue_replayed(idempotency_key, amount=amount, currency=currency)
            if issued is not None:  # the same key, issued by a concurrent call
                return issued
            if code is not None:
                raise GiftCardCodeInvalid(reason="taken") from None
            raise  # 2^80 codes: a clash of drawn codes is not expected
    return IssuedCard(card, clear)


def _card_create(
    clear: str, fields: dict, amount: Decimal, key: str | None, user: AbstractBaseUser | None
) -> GiftCard:
    card = GiftCard.objects.create(code_hash=gift_card_code_hash(clear), last4=clear[-4:], **fields)
    GiftCardEntry.objects.create(
        card=card,
        kind=Kind.ISSUE,
        amount=amount,
        reference=card.source,
        idempotency_key=key,
        created_by=acting_user(user),
    )
    return card


def gift_cards_issue_batch(
    *,
    count: int,
    amount: Decimal,
    currency: str,
    purpose: str = GiftCard.Purpose.MULTI,
    user: AbstractBaseUser | None = None,
) -> list[IssuedCard]:
    """``count`` physical cards of ``amount`` at once (to print or encode), all or none;
    their clear codes are in the answer only. Their ``source`` names the batch."""
    if not 1 <= count <= 1000:
        raise InvalidInput(_("Between 1 and 1000 cards at a time."), field="count")
    source = f"batch {timezone.now():%Y-%m-%d %H:%M:%S}"
    with transaction.atomic():
        return [
            gift_card_issue(
                amount=amount, currency=currency, purpose=purpose, source=source, user=user
            )
            for _ in range(count)
        ]


# --- movements


def _replayed(
    key: str | None, *, card: GiftCard, kind: str, amount: Decimal
) -> GiftCardEntry | None:
    if not key:
        return None
    entry = GiftCardEntry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if (entry.card_id, entry.kind, entry.amount) != (card.pk, kind, amount):
        raise GiftCardKeyReused(key=key)
    return entry


def _currency_check(card: GiftCard, currency: str | None) -> None:
    if currency is not None and currency.upper() != card.currency:
        raise GiftCardCurrencyMismatch(expected=card.currency, given=currency.upper())


def _entry_write(
    card: GiftCard,
    *,
    kind: str,
    amount: Decimal,
    reference: str = "",
    reason: str = "",
    key: str | None,
    user: AbstractBaseUser | None,
) -> GiftCardEntry:
    return GiftCardEntry.objects.create(
        card=card,
        kind=kind,
        amount=amount,
        reference=reference[:100],
        reason=reason[:255],
        idempotency_key=key or None,
        created_by=acting_user(user),
    )


@transaction.atomic
def gift_card_redeem(
    *,
    card: GiftCard,
    amount: Decimal,
    reference: str,
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
    currency: str | None = None,
) -> GiftCardEntry:
    """Spend ``amount`` (> 0) of the card for ``reference`` (an order's). Refuses a
    blocked or expired card (``gift_card_invalid``) and more than the balance
    (``gift_card_insufficient``, naming it), writing nothing then. Returns the new row,
    whose amount is negative (the same row for the same key)."""
    _currency_check(card, currency)
    amount = _amount_check(amount, card.currency)
    locked = gift_card_lock(card.pk)  # every movement of this card waits here
    entry = _replayed(idempotency_key, card=locked, kind=Kind.REDEEM, amount=-amount)
    if entry is not None:
        return entry
    if not gift_card_usable(locked):
        raise GiftCardInvalid()
    balance = gift_card_balance(locked)
    if amount > balance:
        raise GiftCardInsufficient(amount=amount, balance=balance, currency=locked.currency)
    return _entry_write(
        locked,
        kind=Kind.REDEEM,
        amount=-amount,
        reference=reference,
        key=idempotency_key,
        user=user,
    )


def gift_card_refundable(card: GiftCard, *, reference: str) -> Decimal:
    """What was paid with the card for ``reference`` and not yet given back to it."""
    total = GiftCardEntry.objects.filter(
        card_id=card.pk, reference=reference[:100], kind__in=[Kind.REDEEM, Kind.REFUND]
    ).aggregate(total=Sum("amount"))["total"]
    return -total if total is not None and total < 0 else Decimal("0.00")


@transaction.atomic
def gift_card_refund(
    *,
    card: GiftCard,
    amount: Decimal,
    reference: str,
    idempotency_key: str | None,
    user: AbstractBaseUser | None = None,
    currency: str | None = None,
) -> GiftCardEntry:
    """Give ``amount`` (> 0) back to the card for ``reference``: never more than was
    redeemed for that reference and not yet refunded
    (``gift_card_refund_exceeds_redeemed``). A blocked or expired card takes nothing
    back (``gift_card_invalid``): refund that some other way."""
    _currency_check(card, currency)
    amount = _amount_check(amount, card.currency)
    locked = gift_card_lock(card.pk)
    entry = _replayed(idempotency_key, card=locked, kind=Kind.REFUND, amount=amount)
    if entry is not None:
        return entry
    if not gift_card_usable(locked):
        raise GiftCardInvalid()
    refundable = gift_card_refundable(locked, reference=reference)
    if amount > refundable:
        raise GiftCardRefundExceedsRedeemed(
            amount=amount, refundable=refundable, currency=locked.currency
        )
    return _entry_write(
        locked, kind=Kind.REFUND, amount=amount, reference=reference, key=idempotency_key, user=user
    )


@transaction.atomic
def gift_card_adjust(
    *,
    card: GiftCard,
    amount: Decimal,
    reason: str,
    user: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> GiftCardEntry:
    """A correction of ``amount`` (signed, not zero) with a ``reason`` (required). A
    negative one never takes the balance below zero (``gift_card_insufficient``)."""
    if not (reason or "").strip():
        raise GiftCardReasonRequired()
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or money_round(amount, card.currency) == 0:
        raise GiftCardAmountInvalid(amount=amount, currency=card.currency)
    amount = money_round(amount, card.currency)
    locked = gift_card_lock(card.pk)
    entry = _replayed(idempotency_key, card=locked, kind=Kind.ADJUST, amount=amount)
    if entry is not None:
        return entry
    balance = gift_card_balance(locked)
    if balance + amount < 0:
        raise GiftCardInsufficient(amount=-amount, balance=balance, currency=locked.currency)
    return _entry_write(
        locked,
        kind=Kind.ADJUST,
        amount=amount,
        reason=reason.strip(),
        key=idempotency_key,
        user=user,
    )


def gift_card_active_set(*, card: GiftCard, active: bool) -> GiftCard:
    """Block a card (lost, stolen: it can no longer be spent) or unblock it."""
    with transaction.atomic():
        locked = gift_card_lock(card.pk)
        if locked.is_active != active:
            locked.is_active = active
            locked.save(update_fields=["is_active"])
    return locked


def gift_cards_expire(now: datetime | None = None) -> int:
    """Write an ``expire`` row for what is left on every card past its expiry (each in
    its own short transaction, under the card's lock). Safe to run again: a card with
    nothing left is skipped, and the key names the card's last row. Returns how many."""
    now = now or timezone.now()
    candidates = (
        GiftCard.objects.filter(expires_at__lte=now)
        .annotate(balance=Sum("entries__amount"))
        .filter(balance__gt=0)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    expired = 0
    for card_id in list(candidates):
        with transaction.atomic():
            card = gift_card_lock(card_id)
            balance = gift_card_balance(card)
            last = GiftCardEntry.objects.filter(card_id=card_id).order_by("-id").first()
            if balance <= 0 or last is None:
                continue
            _entry_write(
                card,
                kind=Kind.EXPIRE,
                amount=-balance,
                reason=f"expired {card.expires_at:%Y-%m-%d}",
                key=f"expire:{card_id}:{last.pk}",
                user=None,
            )
            expired += 1
    return expired


# --- customers merged or erased (crm.services.links)


def gift_cards_customer_reassign(*, survivor: Customer, duplicate: Customer) -> int:
    """A merge: the cards the duplicate bought are the survivor's now (the card row is
    not a ledger; its entries name no customer and stay as they are)."""
    return GiftCard.objects.filter(customer_id=duplicate.pk).update(customer_id=survivor.pk)


def gift_cards_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> int:
    """An erasure: the recipient (an e-mail or phone) of the cards they bought, and of
    cards sent to them by anyone, is blanked. Amounts and the ledger stay (a card is a
    bearer balance: its holder may still spend it at the till)."""
    contacts = [*identity.emails, *identity.phones]
    return (
        GiftCard.objects.filter(Q(customer_id__in=customer_ids) | Q(recipient__in=contacts))
        .exclude(recipient="")
        .update(recipient="")
    )


__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "IssuedCard",
    "gift_card_active_set",
    "gift_card_adjust",
    "gift_card_balance",
    "gift_card_code_display",
    "gift_card_code_hash",
    "gift_card_code_new",
    "gift_card_code_normalise",
    "gift_card_code_valid",
    "gift_card_find",
    "gift_card_issue",
    "gift_card_redeem",
    "gift_card_refund",
    "gift_card_refundable",
    "gift_card_usable",
    "gift_cards_customer_erase",
    "gift_cards_customer_reassign",
    "gift_cards_expire",
    "gift_cards_issue_batch",
]
