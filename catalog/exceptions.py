from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, InvalidInput, NotFound


class UnknownCode(NotFound):
    """No active variant has this barcode or SKU."""

    code = "unknown_code"

    def __init__(self, code: str) -> None:
        super().__init__(
            _("No product has the barcode or SKU “%(code)s”.") % {"code": code}, scanned=code
        )


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"

    def __init__(self, code: str, problem: str) -> None:
        super().__init__(
            _("Invalid barcode %(code)s: %(problem)s.") % {"code": code, "problem": problem},
            barcode=code,
        )


class DuplicateBarcode(DomainError):
    code = "duplicate_barcode"
    http_status = 409

    def __init__(self, code: str, owner_sku: str) -> None:
        super().__init__(
            _("The barcode %(code)s already belongs to %(sku)s.")
            % {"code": code, "sku": owner_sku},
            barcode=code,
            sku=owner_sku,
        )


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    http_status = 409

    def __init__(self, sku: str) -> None:
        super().__init__(_("A variant already has the SKU %(sku)s.") % {"sku": sku}, sku=sku)


class InvalidPrice(InvalidInput):
    code = "invalid_price"

    def __init__(self, amount: object) -> None:
        super().__init__(
            _("A price is an amount of zero or more (got %(amount)s).") % {"amount": amount},
            amount=str(amount),
        )


class CategoryCycle(InvalidInput):
    code = "category_cycle"

    def __init__(self, category: str, parent: str) -> None:
        super().__init__(
            _("%(parent)s is inside %(category)s: a category cannot be moved under itself.")
            % {"category": category, "parent": parent}
        )


class InvalidImage(InvalidInput):
    """An uploaded file that is not a picture we keep (not an image, another format, too
    heavy, too many pixels). Nothing was stored."""

    code = "invalid_image"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)


class VariantOfAnotherProduct(InvalidInput):
    code = "variant_of_another_product"

    def __init__(self, sku: str, product_id: int) -> None:
        super().__init__(
            _("The variant %(sku)s belongs to another product.") % {"sku": sku},
            sku=sku,
            product=product_id,
        )
