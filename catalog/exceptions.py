from django.utils.translation import gettext as _

from unicommerce.exceptions import NotFound


class UnknownCode(NotFound):
    """No active variant has this barcode or SKU."""

    code = "unknown_code"

    def __init__(self, code: str) -> None:
        super().__init__(
            _("No product has the barcode or SKU “%(code)s”.") % {"code": code}, scanned=code
        )
