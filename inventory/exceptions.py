"""Inventory's errors: typed, carrying their data (``unicommerce.exceptions``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from unicommerce.exceptions import DomainError, Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from catalog.models import Variant
    from inventory.models import (
        ImportJob,
        Location,
        PurchaseOrder,
        StockCount,
        Supplier,
        Transfer,
    )


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


class CountKindInvalid(InvalidInput):
    code = "invalid_count_kind"

    def __init__(self, kind: object) -> None:
        super().__init__(
            _("“%(kind)s” is not a kind of count (use full or cycle).") % {"kind": kind},
            kind=str(kind),
        )


class CountVariantsRequired(InvalidInput):
    code = "count_variants_required"

    def __init__(self) -> None:
        super().__init__(_("A cycle count needs the products to count."))


class CountVariantsNotAllowed(InvalidInput):
    code = "count_variants_not_allowed"

    def __init__(self) -> None:
        super().__init__(
            _(
                "A full count covers every product of the location; choose a cycle count to "
                "count only some."
            )
        )


class CountLocationInactive(InvalidInput):
    code = "location_unusable"

    def __init__(self, location: Location) -> None:
        super().__init__(
            _("%(location)s is not active.") % {"location": location.name},
            location=location.code,
        )


class VariantUnknown(InvalidInput):
    """Ids that name no variant, in a count or a transfer."""

    code = "unknown_variant"

    def __init__(self, variant_ids: Iterable[int]) -> None:
        ids = sorted(variant_ids)
        super().__init__(
            _("No variant has the id %(ids)s.") % {"ids": ", ".join(map(str, ids))},
            variant_ids=ids,
        )


class CountQuantityInvalid(InvalidInput):
    code = "invalid_quantity"

    def __init__(self, quantity: object) -> None:
        super().__init__(
            _("A counted quantity is a whole number, zero or more (got %(quantity)s).")
            % {"quantity": quantity},
            quantity=str(quantity),
        )


class CountNothingCounted(InvalidInput):
    code = "count_nothing_counted"

    def __init__(self, count: StockCount) -> None:
        super().__init__(
            _("Nothing has been counted on %(reference)s yet: count, or cancel it.")
            % {"reference": str(count)},
            count=str(count),
        )


class CountNotFound(NotFound):
    def __init__(self, count_id: object) -> None:
        super().__init__(_("No stock count has the id %(id)s.") % {"id": count_id}, count=count_id)


class TransferSameLocation(InvalidInput):
    code = "transfer_same_location"

    def __init__(self, location: Location) -> None:
        super().__init__(
            _("A transfer goes from one location to another; both are %(location)s.")
            % {"location": location.name},
            location=location.code,
        )


class TransferLocationUnusable(InvalidInput):
    code = "location_unusable"

    def __init__(self, location: Location, field: str) -> None:
        if not location.is_active:
            message = _("%(location)s is not active.") % {"location": location.name}
        else:
            message = _("%(location)s is where transfers travel; it cannot be their %(end)s.") % {
                "location": location.name,
                "end": _("origin") if field == "from_location" else _("destination"),
            }
        super().__init__(message, location=location.code, field=field)


class TransitLocationUnusable(InvalidInput):
    code = "transit_location_unusable"

    def __init__(self, location: Location) -> None:
        super().__init__(
            _(
                "The location with code “%(code)s” must be an active in-transit location to "
                "carry transfers; it is %(kind)s%(inactive)s."
            )
            % {
                "code": location.code,
                "kind": location.get_kind_display(),
                "inactive": "" if location.is_active else _(", inactive"),
            },
            location=location.code,
        )


class TransferEmpty(InvalidInput):
    code = "transfer_empty"

    def __init__(self) -> None:
        super().__init__(_("A transfer needs at least one line with a quantity."))


class VariantNotOnTransfer(InvalidInput):
    code = "variant_not_on_transfer"

    def __init__(self, transfer: Transfer, variants: list[Variant]) -> None:
        skus = sorted(v.sku for v in variants)
        super().__init__(
            _("%(skus)s is not on %(reference)s.")
            % {"skus": ", ".join(skus), "reference": str(transfer)},
            transfer=str(transfer),
            skus=skus,
        )


class TransferReceiptExceedsOutstanding(InvalidInput):
    code = "receipt_exceeds_outstanding"

    def __init__(self, *, sku: str, requested: int, outstanding: int) -> None:
        super().__init__(
            _("Only %(outstanding)s of %(sku)s are still expected; %(requested)s received.")
            % {"outstanding": outstanding, "sku": sku, "requested": requested},
            sku=sku,
            requested=requested,
            outstanding=outstanding,
        )


class ReceiptEmpty(InvalidInput):
    code = "receipt_empty"

    def __init__(self) -> None:
        super().__init__(_("A receipt needs at least one quantity above zero."))


class TransferNotFound(NotFound):
    def __init__(self, transfer_id: object) -> None:
        super().__init__(
            _("No transfer has the id %(id)s.") % {"id": transfer_id}, transfer=transfer_id
        )


class SupplierInactive(DomainError):
    code = "supplier_inactive"
    http_status = 409

    def __init__(self, supplier: Supplier) -> None:
        super().__init__(
            _("Supplier %(supplier)s is inactive: nothing can be ordered from it.")
            % {"supplier": supplier.name},
            supplier=supplier.code,
        )


class DraftPurchaseOrderExists(DomainError):
    """At most one draft per supplier and location: add lines to the one there is."""

    code = "draft_purchase_order_exists"
    http_status = 409

    def __init__(self, order: PurchaseOrder) -> None:
        super().__init__(
            _(
                "%(order)s is already the draft purchase order to %(supplier)s for "
                "%(location)s: add the lines to it."
            )
            % {"order": order, "supplier": order.supplier.name, "location": order.location.name},
            order=str(order),
            order_id=order.pk,
        )


class EmptyPurchaseOrder(InvalidInput):
    code = "purchase_order_empty"

    def __init__(self) -> None:
        super().__init__(_("A purchase order needs at least one line."))


class DuplicateLine(InvalidInput):
    code = "purchase_order_duplicate_line"

    def __init__(self, sku: str) -> None:
        super().__init__(
            _("%(sku)s appears on more than one line: give it once.") % {"sku": sku}, sku=sku
        )


class InvalidLine(InvalidInput):
    code = "purchase_order_invalid_line"

    def __init__(self, line: object) -> None:
        super().__init__(
            _(
                "A line is (variant id, quantity) or (variant id, quantity, unit cost), "
                "not %(line)s."
            )
            % {"line": line},
            line=str(line),
        )


class PurchaseVariantUnknown(NotFound):
    code = "unknown_variant"

    def __init__(self, variant_ids: Sequence[object]) -> None:
        shown = ", ".join(str(v) for v in variant_ids)
        super().__init__(
            _("No variant with id %(ids)s.") % {"ids": shown},
            variant_ids=[str(v) for v in variant_ids],
        )


class VariantNotSoldBySupplier(InvalidInput):
    code = "variant_not_sold_by_supplier"

    def __init__(self, *, sku: str, supplier: Supplier) -> None:
        super().__init__(
            _("%(supplier)s does not sell %(sku)s: give a unit cost or add it to the supplier.")
            % {"supplier": supplier.name, "sku": sku},
            sku=sku,
            supplier=supplier.code,
        )


class InvalidUnitCost(InvalidInput):
    code = "invalid_unit_cost"

    def __init__(self, cost: object) -> None:
        super().__init__(
            _("A unit cost must be a decimal amount of zero or more (got %(cost)s).")
            % {"cost": cost},
            unit_cost=str(cost),
        )


class EmptyReceipt(InvalidInput):
    code = "receipt_empty"

    def __init__(self) -> None:
        super().__init__(_("A receipt needs at least one variant and quantity."))


class VariantNotOnOrder(InvalidInput):
    code = "variant_not_on_order"

    def __init__(self, *, order: PurchaseOrder, sku: str) -> None:
        super().__init__(
            _("%(sku)s is not on %(order)s.") % {"sku": sku, "order": order},
            sku=sku,
            order=str(order),
        )


class PurchaseReceiptExceedsOutstanding(InvalidInput):
    code = "receipt_exceeds_outstanding"

    def __init__(self, *, order: PurchaseOrder, sku: str, outstanding: int, requested: int):
        super().__init__(
            _(
                "Only %(outstanding)s of %(sku)s are still expected on %(order)s; "
                "%(requested)s cannot be received."
            )
            % {"outstanding": outstanding, "sku": sku, "order": order, "requested": requested},
            sku=sku,
            order=str(order),
            outstanding=outstanding,
            requested=requested,
        )


class ImportFileInvalid(InvalidInput):
    """The file cannot be imported at all (not UTF-8, not CSV, too long, a bad header)."""

    code = "import_file_invalid"


class ImportEmpty(InvalidInput):
    code = "import_empty"

    def __init__(self) -> None:
        super().__init__(_("The file is empty: it needs a header line and at least one row."))


class ImportFinished(InvalidInput):
    code = "import_finished"

    def __init__(self, job: ImportJob) -> None:
        super().__init__(
            _("The import %(job)s is over (%(status)s): upload the file again to rerun it.")
            % {"job": job.pk, "status": job.get_status_display()},
            job=job.pk,
            status=job.status,
        )


class ImportConcurrentChange(DomainError):
    """Stock moved between reading a level and writing its count: nothing was written."""

    code = "import_concurrent_change"

    def __init__(self, *, sku: str, location: str) -> None:
        super().__init__(
            _(
                "The stock of %(sku)s at %(location)s changed while the file was being "
                "imported; nothing was written. Import the file again."
            )
            % {"sku": sku, "location": location},
            sku=sku,
            location=location,
        )


class ApprovalRefused(Forbidden):
    """Wrong credentials, or this person may not approve this here. Nothing changed."""

    code = "approval_refused"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message, **details)


class ApprovalLockedOut(DomainError):
    """Too many wrong passwords for this manager from here: wait (HTTP 429)."""

    code = "approval_locked_out"
    http_status = 429

    def __init__(self) -> None:
        minutes = max(math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60), 1)
        super().__init__(
            ngettext(
                "Too many wrong passwords for this manager from here. Try again in %(n)d minute.",
                "Too many wrong passwords for this manager from here. Try again in %(n)d minutes.",
                minutes,
            )
            % {"n": minutes},
            retry_after=int(settings.AXES_COOLOFF_TIME.total_seconds()),
        )
