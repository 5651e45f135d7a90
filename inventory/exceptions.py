from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, Forbidden, InvalidInput


class InsufficientStock(DomainError):
    """Less is available than asked for. Nothing was taken."""

    code = "insufficient_stock"
    http_status = 409

    def __init__(self, *, sku: str, location: str, requested: int, available: int) -> None:
        super().__init__(
            _("Only %(available)s of %(sku)s available at %(location)s; %(requested)s requested.")
            % {"available": available, "sku": sku, "location": location, "requested": requested},
            sku=sku,
            location=location,
            requested=requested,
            available=available,
        )
        self.sku = sku
        self.location = location
        self.requested = requested
        self.available = available


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"

    def __init__(self, quantity: object) -> None:
        super().__init__(
            _("Quantity must be a whole number above zero (got %(quantity)s).")
            % {"quantity": quantity},
            quantity=str(quantity),
        )


class InvalidReason(InvalidInput):
    code = "invalid_reason"

    def __init__(self, reason: object, allowed: list[str]) -> None:
        super().__init__(
            _("“%(reason)s” is not a reason for this operation (use one of %(allowed)s).")
            % {"reason": reason, "allowed": ", ".join(allowed)},
            reason=str(reason),
            allowed=allowed,
        )


class ReservationNotActive(DomainError):
    code = "reservation_not_active"
    http_status = 409

    def __init__(self, reservation_id: int, status: str) -> None:
        super().__init__(
            _("Reservation %(id)s is no longer active (%(status)s).")
            % {"id": reservation_id, "status": status},
            reservation=reservation_id,
            status=status,
        )


class InvalidExpiry(InvalidInput):
    code = "invalid_expiry"

    def __init__(self) -> None:
        super().__init__(_("A reservation must expire in the future."))


class LocationNotYours(Forbidden):
    """A member of staff acting at a location they are not staff of."""

    code = "location_not_yours"

    def __init__(self, location_code: str, what: str) -> None:
        super().__init__(
            _("You do not work at %(location)s: ask its staff or head office.")
            % {"location": location_code},
            location=location_code,
            action=what,
        )


class UnbookedSaleRefused(Forbidden):
    """Selling an item the books say is not here is not allowed here, or not by this
    person (the store's policy, another store, a seller approving their own sale)."""

    code = "unbooked_sale_refused"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message, **details)


class UnbookedSaleInvalid(InvalidInput):
    """The override asked for is incomplete (no reason, nothing missing from the books)."""

    code = "unbooked_sale_invalid"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message, **details)
