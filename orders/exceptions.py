from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import Fulfilment, Order, OrderLine, Shipment
from unicommerce.exceptions import DomainError, InvalidInput, InvalidTransition, NotFound


class EmptyCart(DomainError):
    code = "empty_cart"
    http_status = 400

    def __init__(self) -> None:
        super().__init__(_("The cart is empty."))


class CartClosed(DomainError):
    code = "cart_closed"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(_("This cart has already been checked out."))


class CartLineNotFound(NotFound):
    code = "cart_line_not_found"

    def __init__(self, line_id: object) -> None:
        super().__init__(
            _("The cart has no line %(line)s.") % {"line": line_id}, line_id=str(line_id)
        )


class CartVoucherNotFound(NotFound):
    code = "cart_voucher_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(_("This code is not on the cart."), voucher=code[:64])


class CartNotFound(NotFound):
    code = "cart_not_found"

    def __init__(self) -> None:
        super().__init__(_("No cart has this token."))


class CartExpired(DomainError):
    """The token was right, but the cart was left untouched for too long."""

    code = "cart_expired"
    http_status = 410

    def __init__(self, expired_at: object) -> None:
        super().__init__(_("This cart has expired; start a new one."), expired_at=str(expired_at))


class CartForeign(DomainError):
    """The cart exists but belongs to another channel or another customer."""

    code = "cart_foreign"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(_("This cart belongs to someone else."))


class InvalidFulfilment(InvalidInput):
    code = "invalid_fulfilment"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, **details)


class InvalidShippingAddress(InvalidInput):
    code = "invalid_shipping_address"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            _("A shipped line needs a shipping address with: %(fields)s.")
            % {"fields": ", ".join(missing)},
            missing=missing,
        )


class UnknownPaymentMethod(InvalidInput):
    code = "unknown_payment_method"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            _("“%(method)s” is not a payment method here (use one of %(allowed)s).")
            % {"method": method, "allowed": ", ".join(allowed)},
            payment_method=method,
            allowed=allowed,
        )


class CheckoutUnavailable(DomainError):
    """Some lines cannot be had in the quantity asked for. ``lines`` lists each of them
    (line_id, variant_id, sku, fulfilment, location, location_name, requested,
    available); nothing was changed."""

    code = "lines_unavailable"
    http_status = 409

    def __init__(self, lines: list[dict]) -> None:
        sentences = []
        for line in lines:
            if line.get("location_name"):
                sentence = _(
                    "Only %(available)s of %(sku)s available at %(location)s; "
                    "%(requested)s requested."
                )
            else:
                sentence = _("Only %(available)s of %(sku)s available; %(requested)s requested.")
            sentences.append(
                sentence
                % {
                    "available": line["available"],
                    "sku": line["sku"],
                    "location": line.get("location_name"),
                    "requested": line["requested"],
                }
            )
            if line.get("unbooked_approved"):
                sentences.append(
                    ngettext(
                        "%(n)s unit not in the books was approved: ask for a new approval "
                        "to sell more.",
                        "%(n)s units not in the books were approved: ask for a new approval "
                        "to sell more.",
                        line["unbooked_approved"],
                    )
                    % {"n": line["unbooked_approved"]}
                )
        super().__init__(" ".join(sentences), lines=lines)
        self.lines = lines


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__(
            _("No order %(reference)s.") % {"reference": reference}, reference=reference
        )


# --- Fulfilment, cancellation and edits (orders.services.fulfilment and its siblings) --


class ShipmentActionRefused(InvalidTransition):
    code = "shipment_transition_refused"

    def __init__(self, shipment: Shipment, action: str) -> None:
        super().__init__(
            _("Shipment %(shipment)s (%(kind)s, %(status)s) cannot be “%(action)s”.")
            % {
                "shipment": shipment.pk,
                "kind": Fulfilment(shipment.kind).label,
                "status": Shipment.Status(shipment.status).label,
                "action": action,
            },
            shipment=shipment.pk,
            kind=shipment.kind,
            status=shipment.status,
            action=action,
        )


class PickupCodeWrong(InvalidInput):
    code = "pickup_code_wrong"

    def __init__(self, shipment: Shipment) -> None:
        super().__init__(_("This is not the pickup code of this order."), shipment=shipment.pk)


class ShipmentLinesInvalid(InvalidInput):
    code = "shipment_lines_invalid"

    def __init__(self, shipment: Shipment, unknown: Sequence[Any]) -> None:
        super().__init__(
            _("Choose at least one line of this shipment still to fulfil."),
            shipment=shipment.pk,
            unknown=[str(u) for u in unknown],
        )


class TrackingMissing(InvalidInput):
    code = "tracking_missing"

    def __init__(self) -> None:
        super().__init__(_("A shipped parcel needs a carrier and a tracking number."))


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    http_status = 409

    def __init__(self, order: Order) -> None:
        super().__init__(
            _("Order %(order)s has no line left to cancel.") % {"order": order.reference},
            order=order.reference,
            status=order.status,
        )


class OrderLineNotEditable(DomainError):
    code = "order_line_not_editable"
    http_status = 409

    def __init__(self, line: OrderLine, shipment_status: str | None) -> None:
        super().__init__(
            _(
                "Line %(sku)s of order %(order)s can no longer be changed: its preparation "
                "has started or it is closed."
            )
            % {"sku": line.sku, "order": line.order.reference},
            line=line.pk,
            line_status=line.status,
            shipment_status=shipment_status,
        )


class OrderLineNotFound(NotFound):
    code = "order_line_not_found"

    def __init__(self, line_id: object) -> None:
        super().__init__(
            _("There is no order line %(line)s.") % {"line": line_id}, line=str(line_id)
        )


class RelocationInvalid(InvalidInput):
    code = "relocation_invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)


# --- Returns (orders.services.returns) ---------------------------------------------------


class ReturnInvalid(InvalidInput):
    """The request itself is malformed (``code`` says how)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


class ReturnLineNotFulfilled(DomainError):
    code = "return_line_not_fulfilled"
    http_status = 409

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        super().__init__(_("Only goods handed over to the customer can be returned."), lines=lines)


class ReturnQuantityExceeded(DomainError):
    code = "return_quantity_exceeded"
    http_status = 409

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        super().__init__(
            _("More is being returned than was bought and not yet returned."), lines=lines
        )


class DiscountInvalid(InvalidInput):
    code = "discount_invalid"


class DiscountAboveCap(DomainError):
    """A manual discount above what the seller (or the approver) may give."""

    code = "discount_above_cap"
    http_status = 403

    def __init__(self, *, cap, percent, approver: bool = False) -> None:
        figures = {"percent": f"{percent:.1f}", "cap": f"{cap:.0f}"}
        if approver:
            message = _(
                "This discount (%(percent)s %%) is above what the approver may give (%(cap)s %%)."
            )
        else:
            message = _(
                "This discount (%(percent)s %%) is above your limit of %(cap)s %%: "
                "a manager must approve it."
            )
        super().__init__(message % figures, cap=figures["cap"], percent=figures["percent"])
