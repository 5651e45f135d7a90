"""Loyalty's refusals (typed domain errors: nothing was changed)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import money_format


class StoreCreditAmountInvalid(InvalidInput):
    code = "store_credit_amount_invalid"

    def __init__(self, *, amount: Decimal, currency: str) -> None:
        super().__init__(
            _("A store credit amount must be more than zero (got %(amount)s).")
            % {"amount": amount},
            amount=str(amount),
            currency=currency,
        )


class StoreCreditReasonInvalid(InvalidInput):
    code = "store_credit_reason_invalid"

    def __init__(self, *, reason: str, allowed: list[str]) -> None:
        super().__init__(
            _("“%(reason)s” is not a reason for this store credit movement.") % {"reason": reason},
            reason=reason,
            allowed=allowed,
        )


class StoreCreditInsufficient(DomainError):
    code = "store_credit_insufficient"
    http_status = 409

    def __init__(self, *, amount: Decimal, balance: Decimal, currency: str) -> None:
        language = get_language() or "en"
        super().__init__(
            _("%(amount)s is more than the %(balance)s of store credit available.")
            % {
                "amount": money_format(amount, currency, language),
                "balance": money_format(balance, currency, language),
            },
            amount=str(amount),
            balance=str(balance),
            currency=currency,
        )
        self.amount = amount
        self.balance = balance


class StoreCreditNeedsCustomer(DomainError):
    """Store credit belongs to a customer: an anonymous order cannot get or use it."""

    code = "store_credit_needs_customer"
    http_status = 409

    def __init__(self, *, order: str) -> None:
        super().__init__(
            _("Order %(order)s has no customer: store credit needs one.") % {"order": order},
            order=order,
        )


class StoreCreditKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422

    def __init__(self, *, key: str) -> None:
        super().__init__(
            _("This idempotency key was already used for a different store credit movement."),
            key=key,
        )


# --- Promotions and vouchers (loyalty.services.vouchers) -----------------------------


class VoucherUnknown(InvalidInput):
    """One answer for every code that cannot be used as typed (no such code, a code or
    campaign switched off): a guesser learns nothing from the message."""

    code = "voucher_unknown"

    def __init__(self) -> None:
        super().__init__(_("This voucher code is not valid."))


class VoucherRefused(DomainError):
    """A known code that does not apply here and now; ``code`` names the reason."""

    code = "voucher_refused"
    http_status = 409

    def __init__(self, message: str, *, voucher: str, **details) -> None:
        super().__init__(message, voucher=voucher, **details)
        self.voucher = voucher


class VoucherInactive(VoucherRefused):
    code = "voucher_inactive"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Voucher %(code)s has been withdrawn.") % {"code": voucher}, voucher=voucher
        )


class VoucherNotStarted(VoucherRefused):
    code = "voucher_not_started"

    def __init__(self, *, voucher: str, starts_at) -> None:
        super().__init__(
            _("Voucher %(code)s can be used from %(date)s.")
            % {"code": voucher, "date": date_format(localtime(starts_at), "DATETIME_FORMAT")},
            voucher=voucher,
            starts_at=starts_at.isoformat(),
        )


class VoucherExpired(VoucherRefused):
    code = "voucher_expired"

    def __init__(self, *, voucher: str, ends_at) -> None:
        super().__init__(
            _("Voucher %(code)s expired on %(date)s.")
            % {"code": voucher, "date": date_format(localtime(ends_at), "DATETIME_FORMAT")},
            voucher=voucher,
            ends_at=ends_at.isoformat(),
        )


class VoucherExhausted(VoucherRefused):
    """Every use was taken: of the campaign (``scope="campaign"``) or of this code."""

    code = "voucher_exhausted"

    def __init__(self, *, voucher: str, scope: str, limit: int) -> None:
        super().__init__(
            _("Voucher %(code)s has already been used as many times as it allows (%(limit)d).")
            % {"code": voucher, "limit": limit},
            voucher=voucher,
            scope=scope,
            limit=limit,
        )


class VoucherCustomerLimit(VoucherRefused):
    code = "voucher_customer_limit"

    def __init__(self, *, voucher: str, limit: int) -> None:
        super().__init__(
            _(
                "This customer has already used voucher %(code)s as many times as it "
                "allows per customer (%(limit)d)."
            )
            % {"code": voucher, "limit": limit},
            voucher=voucher,
            limit=limit,
        )


class VoucherNeedsCustomer(VoucherRefused):
    """A campaign limited per customer cannot count an anonymous order's use."""

    code = "voucher_needs_customer"

    def __init__(self, *, voucher: str, limit: int) -> None:
        super().__init__(
            ngettext(
                "Voucher %(code)s is limited to %(limit)d use per customer: identify the "
                "customer to use it.",
                "Voucher %(code)s is limited to %(limit)d uses per customer: identify the "
                "customer to use it.",
                limit,
            )
            % {"code": voucher, "limit": limit},
            voucher=voucher,
            limit=limit,
        )


class VoucherOtherChannel(VoucherRefused):
    code = "voucher_other_channel"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Voucher %(code)s cannot be used on this sales channel.") % {"code": voucher},
            voucher=voucher,
        )


class VoucherOtherStore(VoucherRefused):
    code = "voucher_other_store"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Voucher %(code)s can only be used at the tills of the stores it names.")
            % {"code": voucher},
            voucher=voucher,
        )


class VoucherSegment(VoucherRefused):
    code = "voucher_segment"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Voucher %(code)s is reserved to other customers.") % {"code": voucher},
            voucher=voucher,
        )


class VoucherBelowMinimum(VoucherRefused):
    """The cart's discounted subtotal (of the lines the code concerns) is below the
    campaign's minimum spend (the pricing engine's refusal)."""

    code = "voucher_below_minimum"

    def __init__(self, *, voucher: str, minimum: Decimal, currency: str) -> None:
        super().__init__(
            _("Voucher %(code)s needs a minimum spend of %(minimum)s after discounts.")
            % {"code": voucher, "minimum": money_format(minimum, currency, get_language())},
            voucher=voucher,
            minimum=str(minimum),
        )


class VoucherNothingEligible(VoucherRefused):
    code = "voucher_nothing_eligible"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Nothing in the cart is eligible for voucher %(code)s.") % {"code": voucher},
            voucher=voucher,
        )


class VoucherNotStackable(VoucherRefused):
    """A better offer of the same stage already took the lines, and neither stacks."""

    code = "voucher_not_stackable"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("A better offer already applies; voucher %(code)s does not add to it.")
            % {"code": voucher},
            voucher=voucher,
        )


class VoucherSameCampaign(VoucherRefused):
    code = "voucher_same_campaign"

    def __init__(self, *, voucher: str) -> None:
        super().__init__(
            _("Another code of the same offer as %(code)s is already applied.") % {"code": voucher},
            voucher=voucher,
        )


class VoucherCodesInvalid(InvalidInput):
    """Codes cannot be generated as asked (count, length, prefix, a campaign without codes)."""

    code = "voucher_codes_invalid"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message, **details)


# --- Points (loyalty.services.points) -------------------------------------------------


class PointsProgrammeInactive(DomainError):
    code = "points_programme_inactive"
    http_status = 409

    def __init__(self, *, currency: str) -> None:
        super().__init__(
            _("No loyalty points programme is active in %(currency)s.") % {"currency": currency},
            currency=currency,
        )


class PointsInvalid(InvalidInput):
    code = "points_invalid"

    def __init__(self, *, points: object, field: str = "points") -> None:
        super().__init__(
            _("A number of points must be a whole number other than zero (got %(points)s).")
            % {"points": points},
            points=str(points),
            field=field,
        )


class PointsInsufficient(DomainError):
    code = "points_insufficient"
    http_status = 409

    def __init__(self, *, points: int, balance: int) -> None:
        super().__init__(
            _("%(points)s points is more than the %(balance)s points held.")
            % {"points": points, "balance": balance},
            points=points,
            balance=balance,
        )
        self.points = points
        self.balance = balance


class PointsBelowMinimum(DomainError):
    code = "points_below_minimum"
    http_status = 409

    def __init__(self, *, points: int, minimum: int) -> None:
        super().__init__(
            _("At least %(minimum)s points must be redeemed at once (asked: %(points)s).")
            % {"points": points, "minimum": minimum},
            points=points,
            minimum=minimum,
        )


class PointsNeedsCustomer(DomainError):
    """Points belong to a customer: an anonymous order cannot earn or spend them."""

    code = "points_needs_customer"
    http_status = 409

    def __init__(self, *, order: str) -> None:
        super().__init__(
            _("Order %(order)s has no customer: loyalty points need one.") % {"order": order},
            order=order,
        )


class PointsReasonRequired(InvalidInput):
    code = "points_reason_required"

    def __init__(self) -> None:
        super().__init__(_("Say why the points are adjusted."), field="reason")


class PointsReferenceRequired(InvalidInput):
    code = "points_reference_required"

    def __init__(self) -> None:
        super().__init__(
            _("A points reversal names what it reverses (an order's reference)."),
            field="reference",
        )


class PointsRefundExceedsRedeemed(DomainError):
    code = "points_refund_exceeds_redeemed"
    http_status = 409

    def __init__(self, *, reference: str, points: int, available: int) -> None:
        super().__init__(
            _(
                "%(points)s points cannot go back for %(reference)s: only %(available)s "
                "points were redeemed on it and not given back."
            )
            % {"points": points, "reference": reference, "available": available},
            reference=reference,
            points=points,
            available=available,
        )


class PointsKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422

    def __init__(self, *, key: str) -> None:
        super().__init__(
            _("This idempotency key was already used for a different points movement."),
            key=key,
        )


# --- Gift cards (loyalty.services.gift_cards)


class GiftCardInvalid(DomainError):
    """One answer for every failed lookup (unknown, blocked, expired, malformed code), so
    the answer tells a guesser nothing about which codes exist."""

    code = "gift_card_invalid"
    http_status = 404

    def __init__(self) -> None:
        super().__init__(_("This gift card code is not valid, or the card cannot be used."))


class GiftCardCodeInvalid(InvalidInput):
    """A code given for a new card (a physical card scanned at the till) is too short,
    has characters outside the alphabet, or is already a card's."""

    code = "gift_card_code_invalid"

    def __init__(self, *, reason: str) -> None:
        super().__init__(
            _(
                "A gift card code needs at least 16 characters from 0-9 and A-Z without "
                "I, L, O and U, and must not be another card's."
            ),
            reason=reason,
        )


class GiftCardAmountInvalid(InvalidInput):
    code = "gift_card_amount_invalid"

    def __init__(self, *, amount: Decimal, currency: str) -> None:
        super().__init__(
            _("A gift card amount must be more than zero (got %(amount)s).") % {"amount": amount},
            amount=str(amount),
            currency=currency,
        )


class GiftCardCurrencyMismatch(InvalidInput):
    code = "gift_card_currency_mismatch"

    def __init__(self, *, expected: str, given: str) -> None:
        super().__init__(
            _("This gift card is in %(expected)s, not %(given)s.")
            % {"expected": expected, "given": given},
            expected=expected,
            given=given,
        )


class GiftCardInsufficient(DomainError):
    code = "gift_card_insufficient"
    http_status = 409

    def __init__(self, *, amount: Decimal, balance: Decimal, currency: str) -> None:
        language = get_language() or "en"
        super().__init__(
            _("%(amount)s is more than the %(balance)s left on this gift card.")
            % {
                "amount": money_format(amount, currency, language),
                "balance": money_format(balance, currency, language),
            },
            amount=str(amount),
            balance=str(balance),
            currency=currency,
        )
        self.amount = amount
        self.balance = balance


class GiftCardRefundExceedsRedeemed(DomainError):
    code = "gift_card_refund_exceeds_redeemed"
    http_status = 409

    def __init__(self, *, amount: Decimal, refundable: Decimal, currency: str) -> None:
        language = get_language() or "en"
        super().__init__(
            _(
                "%(amount)s is more than the %(refundable)s paid with this gift card for this "
                "reference and not yet given back."
            )
            % {
                "amount": money_format(amount, currency, language),
                "refundable": money_format(refundable, currency, language),
            },
            amount=str(amount),
            refundable=str(refundable),
            currency=currency,
        )


class GiftCardReasonRequired(InvalidInput):
    code = "gift_card_reason_required"

    def __init__(self) -> None:
        super().__init__(_("A gift card adjustment needs a reason."), field="reason")


class GiftCardKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422

    def __init__(self, *, key: str) -> None:
        super().__init__(
            _("This idempotency key was already used for a different gift card movement."),
            key=key,
        )


class GiftCardForGiftCard(DomainError):
    """A gift card cannot buy a gift card (it would turn a bearer balance into a new,
    untraceable one, and the VAT of a multi-purpose card is due on what it buys)."""

    code = "gift_card_for_gift_card"
    http_status = 409

    def __init__(self, *, order: str) -> None:
        super().__init__(
            _("Order %(order)s contains a gift card: a gift card cannot pay for a gift card.")
            % {"order": order},
            order=order,
        )


class GiftCardAlreadySpent(DomainError):
    """A gift card sold on an order cannot be taken back (a return, a cancellation) once
    part of it has been spent."""

    code = "gift_card_already_spent"
    http_status = 409

    def __init__(self, *, last4: str, balance: Decimal, initial: Decimal, currency: str) -> None:
        language = get_language() or "en"
        super().__init__(
            _(
                "Gift card …%(last4)s has already been used (%(balance)s left of "
                "%(initial)s): it cannot be taken back."
            )
            % {
                "last4": last4,
                "balance": money_format(balance, currency, language),
                "initial": money_format(initial, currency, language),
            },
            last4=last4,
            balance=str(balance),
            initial=str(initial),
        )
