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
