"""Loyalty's refusals (typed domain errors: nothing was changed)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import get_language
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
