from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import money_format

if TYPE_CHECKING:
    from orders.models import Return
    from payments.models import PaymentLink


class InsufficientTender(DomainError):
    code = "insufficient_tender"
    http_status = 400

    def __init__(self, *, due: Decimal, tendered: Decimal, currency: str) -> None:
        super().__init__(
            _("Cash received (%(tendered)s) is less than the amount due (%(due)s).")
            % {
                "tendered": money_format(tendered, currency, get_language() or "en"),
                "due": money_format(due, currency, get_language() or "en"),
            },
            due=str(due),
            tendered=str(tendered),
            currency=currency,
        )
        self.due = due
        self.tendered = tendered


class PaymentError(DomainError):
    """Base of the payment rules' refusals (nothing was charged)."""

    code = "payment_error"
    http_status = 409


class PaymentAmountInvalid(PaymentError):
    code = "payment_amount_invalid"
    http_status = 400

    def __init__(self, *, amount: Decimal, currency: str) -> None:
        super().__init__(
            _("A payment amount must be more than zero (got %(amount)s).") % {"amount": amount},
            amount=str(amount),
            currency=currency,
        )


class PaymentCurrencyMismatch(PaymentError):
    code = "payment_currency_mismatch"
    http_status = 400

    def __init__(self, *, expected: str, given: str) -> None:
        super().__init__(
            _("This order is paid in %(expected)s, not %(given)s.")
            % {"expected": expected, "given": given},
            expected=expected,
            given=given,
        )


class PaymentStateInvalid(PaymentError):
    code = "payment_state_invalid"
    http_status = 409

    def __init__(self, *, payment_id: int, status: str, action: str) -> None:
        super().__init__(
            _("Payment %(payment)s is %(status)s: it cannot be %(action)s.")
            % {"payment": payment_id, "status": status, "action": action},
            payment_id=payment_id,
            status=status,
            action=action,
        )


class PaymentMethodUnsupported(PaymentError):
    code = "payment_method_unsupported"
    http_status = 400

    def __init__(self, *, method: str, gateway: str = "") -> None:
        super().__init__(
            _("The payment method “%(method)s” is not available here.") % {"method": method},
            method=method,
            gateway=gateway or None,
        )


class CardNumberRefused(PaymentError):
    """A caller sent what looks like a card number: it is neither stored nor sent on."""

    code = "card_number_refused"
    http_status = 400

    def __init__(self) -> None:
        super().__init__(
            _("Card numbers are not accepted: send the payment provider's token instead.")
        )


class IdempotencyKeyReused(PaymentError):
    code = "idempotency_key_reused"
    http_status = 422

    def __init__(self, *, key: str) -> None:
        super().__init__(
            _("This idempotency key was already used for a different payment request."),
            key=key,
        )


class PaymentInProgress(PaymentError):
    """Another call with the same idempotency key is still running; retry later."""

    code = "payment_in_progress"
    http_status = 409

    def __init__(self, *, key: str) -> None:
        super().__init__(
            _("A request with this idempotency key is still being processed; retry shortly."),
            key=key,
        )


class PaymentDeclined(PaymentError):
    code = "payment_declined"
    http_status = 402

    def __init__(self, *, payment_id: int, decline_code: str, message: str) -> None:
        super().__init__(
            _("The payment was declined: %(reason)s") % {"reason": message},
            payment_id=payment_id,
            decline_code=decline_code,
        )
        self.payment_id = payment_id
        self.decline_code = decline_code


class PaymentGatewayUnavailable(PaymentError):
    """The provider did not answer (network, outage). The outcome is unknown until the
    same request is retried with the same idempotency key, which never charges twice."""

    code = "payment_gateway_unavailable"
    http_status = 503

    def __init__(self, *, gateway: str, key: str) -> None:
        super().__init__(
            _("The payment provider is not answering; retry with the same idempotency key."),
            gateway=gateway,
            key=key,
        )


class WebhookSignatureInvalid(DomainError):
    code = "signature_invalid"
    http_status = 400

    def __init__(self, *, gateway: str, reason: str) -> None:
        super().__init__(_("The webhook signature is not valid."), gateway=gateway, reason=reason)


class WebhookPayloadInvalid(DomainError):
    code = "invalid"
    http_status = 400

    def __init__(self, *, gateway: str, reason: str) -> None:
        super().__init__(_("The webhook body is not valid."), gateway=gateway, reason=reason)


class GatewayUnknown(DomainError):
    code = "gateway_unknown"
    http_status = 404

    def __init__(self, *, gateway: str) -> None:
        super().__init__(_("No payment gateway is called “%(gateway)s”.") % {"gateway": gateway})


class OrderNotPayable(PaymentError):
    code = "order_not_payable"
    http_status = 409

    def __init__(self, *, order: str, status: str) -> None:
        super().__init__(
            _("Order %(order)s is %(status)s: it cannot be paid.")
            % {"order": order, "status": status},
            order=order,
            status=status,
        )


class InstalmentPlanNotEligible(PaymentError):
    """The plan asked for is not offered for this amount, currency or channel."""

    code = "instalment_plan_not_eligible"
    http_status = 400

    def __init__(self, *, kind: str, reason: str, message: str, **details) -> None:
        super().__init__(
            _("This instalment plan is not available: %(why)s") % {"why": message},
            kind=kind,
            reason=reason,
            **details,
        )
        self.kind = kind
        self.reason = reason


class InstalmentDeclined(PaymentError):
    """The first part of a plan was declined: no plan, nothing charged."""

    code = "instalment_declined"
    http_status = 402

    def __init__(self, *, payment_id: int, decline_code: str, message: str) -> None:
        super().__init__(
            _("The first instalment was declined, so the plan was not set up: %(reason)s")
            % {"reason": message},
            payment_id=payment_id,
            decline_code=decline_code,
        )
        self.payment_id = payment_id
        self.decline_code = decline_code


class StoreCreditUnavailable(PaymentError):
    """No handler gives store credit yet (the loyalty app registers one)."""

    code = "store_credit_unavailable"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(_("Refunds to store credit are not available here."))


class RefundMethodUnsupported(PaymentError):
    code = "refund_method_unsupported"
    http_status = 400

    def __init__(self, *, method: str, known: list[str]) -> None:
        super().__init__(
            _("Refunds cannot be made to “%(method)s”.") % {"method": method},
            method=method,
            known=known,
        )


class AmountExceeds(PaymentError):
    """More money asked than a limit allows: one class for the three rules, each keeping
    its own code, message and detail on the wire (``amount_limit_check`` raises it).

    - ``due``: a payment (or a payment link, an instalment plan) over what the order
      still owes (``payment_exceeds_due``, detail ``outstanding``);
    - ``captured``: a refund over what its payment can still give back
      (``refund_exceeds_captured``, detail ``refundable``);
    - ``paid``: a refund over what the order has paid and not had back, over all its
      payments (``refund_exceeds_paid``, detail ``refundable``)."""

    http_status = 409
    CODES = {
        "due": "payment_exceeds_due",
        "captured": "refund_exceeds_captured",
        "paid": "refund_exceeds_paid",
    }

    def __init__(self, *, rule: str, amount: Decimal, limit: Decimal, currency: str) -> None:
        self.code = self.CODES[rule]
        self.rule = rule
        language = get_language() or "en"
        shown = {
            "amount": money_format(amount, currency, language),
            "limit": money_format(limit, currency, language),
        }
        if rule == "due":
            message = _("%(amount)s is more than the %(outstanding)s still due on this order.") % {
                "amount": shown["amount"],
                "outstanding": shown["limit"],
            }
            detail = "outstanding"
        elif rule == "captured":
            message = _(
                "%(amount)s is more than the %(refundable)s that can still be refunded."
            ) % {"amount": shown["amount"], "refundable": shown["limit"]}
            detail = "refundable"
        else:
            message = _(
                "%(amount)s is more than the %(refundable)s paid on this order and not refunded."
            ) % {"amount": shown["amount"], "refundable": shown["limit"]}
            detail = "refundable"
        super().__init__(message, amount=str(amount), **{detail: str(limit)}, currency=currency)


def amount_limit_check(*, amount: Decimal, limit: Decimal, rule: str, currency: str) -> None:
    """Refuse ``amount`` over ``limit`` (``AmountExceeds`` with the ``rule``'s code)."""
    if amount > limit:
        raise AmountExceeds(rule=rule, amount=amount, limit=limit, currency=currency)


class NothingDue(DomainError):
    code = "nothing_due"
    http_status = 409

    def __init__(self, *, order: str) -> None:
        super().__init__(
            _("Nothing is left to pay on order %(reference)s.") % {"reference": order}, order=order
        )


class TenderMissing(InvalidInput):
    """A cash checkout without the amount received."""

    code = "tender_missing"

    def __init__(self) -> None:
        super().__init__(_("Type the cash received."))


class PaymentLinkNotFound(DomainError):
    code = "payment_link_not_found"
    http_status = 404

    def __init__(self) -> None:
        super().__init__(_("This payment link does not exist. Check the link in your SMS."))


class PaymentLinkExpired(DomainError):
    code = "payment_link_expired"
    http_status = 410

    def __init__(self, *, link: PaymentLink) -> None:
        super().__init__(
            _("This payment link has expired. Ask the shop for a new one."),
            link_id=link.pk,
            expired_at=link.expires_at.isoformat(),
        )


class PaymentLinkUsed(DomainError):
    code = "payment_link_used"
    http_status = 409

    def __init__(self, *, link: PaymentLink, payment_status: str = "") -> None:
        super().__init__(
            _("This payment link has already been used."),
            link_id=link.pk,
            payment_status=payment_status or None,
        )


class PaymentLinkCancelled(DomainError):
    code = "payment_link_cancelled"
    http_status = 410

    def __init__(self, *, link: PaymentLink) -> None:
        super().__init__(
            _("This payment link was cancelled by the shop."),
            link_id=link.pk,
        )


class PaymentLinkChoiceInvalid(InvalidInput):
    code = "payment_link_choice_invalid"

    def __init__(self, *, choice: str, offered: list[str]) -> None:
        super().__init__(
            _("“%(choice)s” is not a way to pay this link.") % {"choice": choice},
            choice=choice,
            offered=offered,
        )


class ReturnAlreadySettled(DomainError):
    code = "return_already_settled"
    http_status = 409

    def __init__(self, *, ret: Return) -> None:
        super().__init__(
            _("Return %(return)s is already settled.") % {"return": str(ret)}, return_id=ret.pk
        )


class ReturnSettleMethodInvalid(InvalidInput):
    code = "return_settle_method_invalid"

    def __init__(self, *, outcome: str, method: str) -> None:
        super().__init__(
            _("A return settled as “%(outcome)s” cannot be paid out by “%(method)s”.")
            % {"outcome": outcome, "method": method},
            outcome=outcome,
            method=method,
        )
