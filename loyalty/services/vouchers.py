"""Vouchers: the codes of a campaign, their lookup, why one does not apply, and their use
when an order is placed (docs/loyalty.md, "Promotions and vouchers").

A code is looked up (``voucher_find``: rate-limited on failures, one answer for every
code that cannot be used), checked against the cart (``voucher_check``: one error per
reason), priced by the engine (``orders.pricing``), and only *used* when the order is
placed (``vouchers_use``), in the order's transaction: under the campaigns' and the
codes' row locks (``loyalty.locks``: campaigns then codes, by primary key) every limit
is checked again and both counters move together with the ``VoucherRedemption`` rows,
so 16 buyers of the last use get exactly one order. A cancelled order gives its uses
back (``vouchers_release``): the rows stay, marked released, and the counters go down.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from loyalty.exceptions import (
    VoucherCodesInvalid,
    VoucherCustomerLimit,
    VoucherExhausted,
    VoucherExpired,
    VoucherInactive,
    VoucherNeedsCustomer,
    VoucherNotStarted,
    VoucherOtherChannel,
    VoucherOtherStore,
    VoucherRefused,
    VoucherSegment,
    VoucherUnknown,
)
from loyalty.locks import promotions_lock, voucher_codes_lock
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from unicommerce.actors import acting_user
from unicommerce.ratelimit import rate_limit_check, rate_limit_hit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.services.gdpr import ErasedIdentity

# Generated codes never hold a character that reads as another: no 0/O, no 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_MAX_LENGTH = VoucherCode._meta.get_field("code").max_length
MIN_LENGTH = 6
MAX_COUNT = 10_000
LOOKUP_LIMIT = "voucher_attempt_per_caller"
_ATTEMPTS = 5


def voucher_code_normalise(text: str) -> str:
    """A code as stored: upper case, without spaces, dashes or any other separator
    (what people type or a scanner sends: " noel-2345 abcd " finds NOEL2345ABCD)."""
    return "".join(ch for ch in (text or "").upper() if ch.isascii() and ch.isalnum())


# --- Generating codes ----------------------------------------------------------------


def _generation_check(promotion: Promotion, count: int, prefix: str, length: int) -> None:
    if not promotion.requires_code:
        raise VoucherCodesInvalid(
            _("“%(name)s” is not a voucher campaign: it has no codes.") % {"name": promotion},
            promotion=promotion.pk,
        )
    if not 1 <= count <= MAX_COUNT:
        raise VoucherCodesInvalid(
            _("Generate between 1 and %(max)d codes at a time.") % {"max": MAX_COUNT},
            count=count,
        )
    if length < MIN_LENGTH or len(prefix) + length > CODE_MAX_LENGTH:
        raise VoucherCodesInvalid(
            _(
                "A code has at least %(min)d random characters, and at most %(max)d "
                "characters with its prefix."
            )
            % {"min": MIN_LENGTH, "max": CODE_MAX_LENGTH},
            length=length,
            prefix=prefix,
        )


def _candidates(count: int, prefix: str, length: int) -> set[str]:
    """``count`` new codes that no row holds yet (a code is unique across campaigns)."""
    fresh: set[str] = set()
    while len(fresh) < count:
        wanted = count - len(fresh)
        batch = {
            prefix + "".join(secrets.choice(ALPHABET) for _ in range(length)) for _ in range(wanted)
        }
        batch -= fresh
        taken = set(VoucherCode.objects.filter(code__in=batch).values_list("code", flat=True))
        fresh |= batch - taken
    return fresh


def voucher_codes_generate(
    *,
    promotion: Promotion,
    count: int,
    prefix: str = "",
    length: int = 10,
    max_uses: int | None = None,
) -> list[VoucherCode]:
    """Create ``count`` unique codes for the campaign: ``prefix`` (normalised) followed by
    ``length`` random characters of ``ALPHABET``, each usable ``max_uses`` times (None:
    as often as the campaign allows). Codes already taken are drawn again; a batch that
    meets a code inserted meanwhile is drawn again whole. Returns the new rows."""
    prefix = voucher_code_normalise(prefix)
    _generation_check(promotion, count, prefix, length)
    if max_uses is not None and max_uses < 1:
        raise VoucherCodesInvalid(_("A code is usable at least once."), max_uses=max_uses)
    for _attempt in range(_ATTEMPTS):
        rows = [
            VoucherCode(promotion=promotion, code=code, max_uses=max_uses)
            for code in sorted(_candidates(count, prefix, length))
        ]
        try:
            with transaction.atomic():
                return VoucherCode.objects.bulk_create(rows, batch_size=1000)
        except IntegrityError:  # another generator took one of them meanwhile
            continue
    raise VoucherCodesInvalid(_("Could not draw enough free codes: use longer codes."))


# --- Finding and checking a code --------------------------------------------------------


def voucher_find(*, code: str, caller: str) -> VoucherCode:
    """The usable code typed or scanned (with its campaign), or ``VoucherUnknown``: the
    same answer for a code that does not exist, was switched off, or whose campaign was.
    ``caller`` says who asks (``unicommerce.ratelimit.caller_id``, a till's user…): its
    failed attempts are counted and, over ``voucher_attempt_per_caller``, every lookup
    is refused (``RateLimited``) until the window moves on."""
    rate_limit_check(LOOKUP_LIMIT, caller)
    normalised = voucher_code_normalise(code)
    voucher = None
    if normalised:
        voucher = (
            VoucherCode.objects.select_related("promotion")
            .filter(
                code=normalised,
                is_active=True,
                promotion__is_active=True,
                promotion__requires_code=True,
            )
            .first()
        )
    if voucher is None:
        rate_limit_hit(LOOKUP_LIMIT, caller)
        raise VoucherUnknown()
    return voucher


def _state_check(voucher: VoucherCode, promotion: Promotion, now: datetime) -> None:
    if not (voucher.is_active and promotion.is_active and promotion.requires_code):
        raise VoucherInactive(voucher=voucher.code)
    if promotion.starts_at is not None and now < promotion.starts_at:
        raise VoucherNotStarted(voucher=voucher.code, starts_at=promotion.starts_at)
    if promotion.ends_at is not None and now >= promotion.ends_at:
        raise VoucherExpired(voucher=voucher.code, ends_at=promotion.ends_at)


def _customer_uses(promotion_id: int, customer_id: int) -> int:
    return VoucherRedemption.objects.filter(
        promotion_id=promotion_id, customer_id=customer_id, released_at__isnull=True
    ).count()


def _limits_refusal(
    voucher: VoucherCode,
    promotion: Promotion,
    customer_id: int | None,
    customer_uses: int | None,
    *,
    campaign_uses: int = 1,
    code_uses: int = 1,
) -> VoucherRefused | None:
    """Would ``campaign_uses`` more uses of the campaign (``code_uses`` of this code) by
    this customer stay within every limit? The first one that would be passed, else
    None. ``customer_uses`` None: counted here (one query)."""
    limit = promotion.usage_limit
    if limit is not None and promotion.used_count + campaign_uses > limit:
        return VoucherExhausted(voucher=voucher.code, scope="campaign", limit=limit)
    if voucher.max_uses is not None and voucher.used_count + code_uses > voucher.max_uses:
        return VoucherExhausted(voucher=voucher.code, scope="code", limit=voucher.max_uses)
    per_customer = promotion.per_customer_limit
    if per_customer is None:
        return None
    if customer_id is None:
        return VoucherNeedsCustomer(voucher=voucher.code, limit=per_customer)
    if customer_uses is None:
        customer_uses = _customer_uses(promotion.pk, customer_id)
    if customer_uses + campaign_uses > per_customer:
        return VoucherCustomerLimit(voucher=voucher.code, limit=per_customer)
    return None


def _limits_check(
    voucher: VoucherCode,
    promotion: Promotion,
    customer_id: int | None,
    *,
    campaign_uses: int = 1,
    code_uses: int = 1,
) -> None:
    refusal = _limits_refusal(
        voucher,
        promotion,
        customer_id,
        None,
        campaign_uses=campaign_uses,
        code_uses=code_uses,
    )
    if refusal is not None:
        raise refusal


@dataclass(frozen=True)
class VoucherScope:
    """Where a code is being used, and the campaign's scopes as id sets."""

    channel_id: int | None
    location_id: int | None
    channel_ids: frozenset[int]
    location_ids: frozenset[int]
    segment: str
    customer_id: int | None
    customer_uses: int | None  # None: counted when needed (one query)
    now: datetime


def voucher_refusal(
    voucher: VoucherCode, promotion: Promotion, scope: VoucherScope
) -> VoucherRefused | None:
    """Why ``voucher`` cannot be used in ``scope`` (the error, not raised), or None: the
    reasons in this order: withdrawn, not started, expired, other channel, other store,
    customer segment, campaign or code used up, customer's uses used up (or no customer
    when the campaign counts per customer). Pure when ``scope.customer_uses`` is given:
    cart reads evaluate every code entered from one query (``orders.pricing.offers``)."""
    try:
        _state_check(voucher, promotion, scope.now)
    except VoucherRefused as refusal:
        return refusal
    if scope.channel_ids and scope.channel_id not in scope.channel_ids:
        return VoucherOtherChannel(voucher=voucher.code)
    if scope.location_ids and scope.location_id not in scope.location_ids:
        return VoucherOtherStore(voucher=voucher.code)
    if promotion.segments and scope.segment not in promotion.segments:
        return VoucherSegment(voucher=voucher.code)
    return _limits_refusal(voucher, promotion, scope.customer_id, scope.customer_uses)


def voucher_check(
    *,
    voucher: VoucherCode,
    channel_id: int | None,
    location_id: int | None,
    customer: Customer | None,
    now: datetime | None = None,
) -> None:
    """Raise why ``voucher`` cannot be used on a cart of this channel, at this till
    (``location_id``; None online), by this customer (None: anonymous), at ``now``
    (``voucher_refusal``). Minimum spend is the engine's to say (it is on the
    discounted subtotal). Reads only: the limits are enforced for good by
    ``vouchers_use``."""
    promotion = voucher.promotion
    scope = VoucherScope(
        channel_id=channel_id,
        location_id=location_id,
        channel_ids=frozenset(promotion.channels.values_list("pk", flat=True)),
        location_ids=frozenset(promotion.locations.values_list("pk", flat=True)),
        segment=customer.rfm_segment if customer is not None else "",
        customer_id=customer.pk if customer is not None else None,
        customer_uses=None,
        now=now or timezone.now(),
    )
    refusal = voucher_refusal(voucher, promotion, scope)
    if refusal is not None:
        raise refusal


# --- Using codes at order placement, giving them back on cancellation -------------------


def _uses_check(
    wanted: list[tuple[VoucherCode, Decimal]],
    campaigns: dict[int, Promotion],
    customer_id: int | None,
    now: datetime,
) -> None:
    per_campaign = Counter(code.promotion_id for code, _amount in wanted)
    for code, _amount in wanted:
        campaign = campaigns[code.promotion_id]
        _state_check(code, campaign, now)
        _limits_check(code, campaign, customer_id, campaign_uses=per_campaign[campaign.pk])


@transaction.atomic
def vouchers_use(
    *,
    uses: list[tuple[VoucherCode, Decimal]],
    customer: Customer | None,
    reference: str,
    user: AbstractBaseUser | None = None,
) -> list[VoucherRedemption]:
    """Record that order ``reference`` used these codes, each for the discount it gave
    (uses of 0.00, codes the engine refused, are not recorded: they cost no use). Call it
    inside the order's transaction: it locks the campaigns' rows then the codes' rows,
    checks every limit again on the locked counters (``VoucherExhausted``,
    ``VoucherCustomerLimit``, ``VoucherNeedsCustomer``, ``VoucherInactive``,
    ``VoucherExpired``…: the caller's transaction rolls back, nothing is used), then
    raises both counters and writes one ``VoucherRedemption`` per code. A code this
    reference already recorded is not counted again (a retried placement). Returns the
    new rows."""
    wanted: dict[int, tuple[VoucherCode, Decimal]] = {}
    for code, amount in uses:
        if amount < 0:
            raise ValueError(f"voucher {code.code}: a discount of {amount} is negative")
        if amount > 0 and code.pk not in wanted:
            wanted[code.pk] = (code, amount)
    if not wanted:
        return []
    campaigns = promotions_lock(code.promotion_id for code, _amount in wanted.values())
    codes = voucher_codes_lock(wanted)
    recorded = set(
        VoucherRedemption.objects.filter(reference=reference, code_id__in=codes).values_list(
            "code_id", flat=True
        )
    )
    fresh = [(codes[pk], amount) for pk, (_code, amount) in wanted.items() if pk not in recorded]
    if not fresh:
        return []
    customer_id = customer.pk if customer is not None else None
    _uses_check(fresh, campaigns, customer_id, timezone.now())
    for campaign_id, count in Counter(code.promotion_id for code, _a in fresh).items():
        Promotion.objects.filter(pk=campaign_id).update(used_count=F("used_count") + count)
    VoucherCode.objects.filter(pk__in=[code.pk for code, _a in fresh]).update(
        used_count=F("used_count") + 1
    )
    return VoucherRedemption.objects.bulk_create(
        VoucherRedemption(
            promotion_id=code.promotion_id,
            code=code,
            customer_id=customer_id,
            reference=reference[:100],
            amount=amount,
            created_by=acting_user(user),
        )
        for code, amount in fresh
    )


@transaction.atomic
def vouchers_release(*, reference: str) -> list[VoucherRedemption]:
    """Give back the uses of a cancelled order: its redemptions get ``released_at`` and
    the campaigns' and codes' counters go down by as many, under the same locks as
    ``vouchers_use`` (campaigns, then codes, then the redemptions). Idempotent: a second
    call finds nothing left to release. Returns the rows released."""
    pending = VoucherRedemption.objects.filter(reference=reference, released_at__isnull=True)
    ids = list(pending.values_list("promotion_id", "code_id"))
    if not ids:
        return []
    promotions_lock(promotion_id for promotion_id, _code_id in ids)
    voucher_codes_lock(code_id for _promotion_id, code_id in ids)
    rows = list(pending.select_for_update().order_by("pk"))  # re-read: another may have won
    if not rows:
        return []
    now = timezone.now()
    VoucherRedemption.objects.filter(pk__in=[row.pk for row in rows]).update(released_at=now)
    for campaign_id, count in Counter(row.promotion_id for row in rows).items():
        Promotion.objects.filter(pk=campaign_id).update(used_count=F("used_count") - count)
    for code_id, count in Counter(row.code_id for row in rows).items():
        VoucherCode.objects.filter(pk=code_id).update(used_count=F("used_count") - count)
    for row in rows:
        row.released_at = now
    return rows


# --- Customers merged or erased (crm.services.links) ----------------------------------


def vouchers_customer_reassign(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> int:
    """A merge: the duplicate's voucher uses become the survivor's, so a per-customer
    limit counts the person's uses under either record. The uses are a record of orders,
    not a ledger: the rows move. Returns how many moved."""
    return VoucherRedemption.objects.filter(customer_id=duplicate.pk).update(
        customer_id=survivor.pk
    )


def vouchers_customer_erase(*, customer_ids: list[int], identity: ErasedIdentity) -> None:
    """An erasure: nothing to blank. A voucher use holds a code, an order reference and
    an amount, never a name or a contact; it stays on the erased customer's row, and
    keeps counting towards the campaign's limits."""


__all__ = [
    "ALPHABET",
    "voucher_check",
    "voucher_code_normalise",
    "voucher_codes_generate",
    "voucher_find",
    "vouchers_customer_erase",
    "vouchers_customer_reassign",
    "vouchers_release",
    "vouchers_use",
]
