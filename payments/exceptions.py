from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError
from unicommerce.money import money_format


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
