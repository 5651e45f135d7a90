from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from unicommerce.exceptions import DomainError, InvalidInput, NotFound


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
