"""What the seller reads when a service says no.

The services' messages are written for every face; some name what only a developer
knows (field codes such as ``line1, postal_code``, method codes, idempotency keys,
provider tokens). The till shows a sentence a seller understands instead, chosen by the
error's stable code; the REST API keeps the services' messages and their codes as they
are. Every other error keeps its own message."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError


def _order_not_payable(error: DomainError) -> str:
    if error.details.get("status") == "cancelled":
        return _("Order %(reference)s is cancelled: it can no longer be paid.") % {
            "reference": error.details.get("order", "")
        }
    return _("Nothing is left to pay on order %(reference)s.") % {
        "reference": error.details.get("order", "")
    }


SELLER_MESSAGES: dict[str, Callable[[DomainError], str]] = {
    "invalid_shipping_address": lambda error: _(
        "A line is shipped home: save the customer’s full shipping address (street, "
        "postal code, city and country) first."
    ),
    "unknown_payment_method": lambda error: _("This way of paying is not available at this till."),
    "payment_method_unsupported": lambda error: _(
        "This way of paying is not available at this till."
    ),
    "payment_amount_invalid": lambda error: _("Type an amount of more than zero."),
    "card_number_refused": lambda error: _(
        "Never type the card number: type the number on the terminal’s receipt, or nothing."
    ),
    "idempotency_key_reused": lambda error: _(
        "This form was already used for another payment: reload the page and try again."
    ),
    "payment_in_progress": lambda error: _(
        "This payment is still being recorded: wait a moment, then look again."
    ),
    "payment_gateway_unavailable": lambda error: _(
        "The payment provider is not answering: try again in a moment."
    ),
    "payment_state_invalid": lambda error: _("This payment can no longer be changed."),
    "order_not_payable": _order_not_payable,
    "identity_conflict": lambda error: _(
        "This phone number and this email belong to two different customers: give only "
        "one of them (the head office can merge the two)."
    ),
    "identity_required": lambda error: _("Type the customer's phone number or email."),
}


def _payment_not_recorded(error: DomainError) -> str:
    return _(
        "Order %(reference)s is placed, but its payment could not be recorded: "
        "%(reason)s Finish it in the payment panel below."
    ) % {"reference": error.details.get("order", ""), "reason": seller_message(error.error)}


SELLER_MESSAGES["sale_payment_not_recorded"] = _payment_not_recorded


def seller_message(error: DomainError) -> str:
    """The sentence the till shows for ``error``."""
    wording = SELLER_MESSAGES.get(error.code)
    return wording(error) if wording is not None else error.message
