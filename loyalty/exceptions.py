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
