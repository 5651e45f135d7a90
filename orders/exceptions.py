from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, NotFound


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
