"""The tenders of the sale screen's pay area, as data: the view and the template iterate
this list, so a new tender (gift card, points: issue 14) is one more entry here, its
fields (a partial of ``templates/pos/_tenders.html``), the POS action that takes it (a
function in ``pos/web/sale.py``'s ``ACTIONS``) and that action's line in the permission
table. The pay area shows one button per tender; picking one shows its fields and the
one button that completes the sale with it.

"Pay in store later" is not a tender: it places the order unpaid (the payment panel
then takes it), and stays a secondary choice under the tenders."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Tender:
    """``code``: the value the pay area posts and its element ids use; ``action``: the
    POS action of ``pos:sell`` that takes the sale with it; ``fields``: the partial with
    its fields and its button; ``key``: the keyboard shortcut shown on its button."""

    code: str
    label: str | Promise
    action: str
    fields: str
    key: str = ""


TENDERS: tuple[Tender, ...] = (
    Tender("cash", _("Cash"), "complete", "pos/_tenders.html#cash", key="F2"),
    Tender("card", _("Card"), "pay_card", "pos/_tenders.html#card"),
    Tender("split", _("Cash + card"), "pay_split", "pos/_tenders.html#split"),
    Tender("link", _("Payment link"), "pay_link", "pos/_tenders.html#link"),
    # Issue 14: a gift card, the customer's points and store credit, the rest in cash
    # or on the card (pos.services.sale_pay_tenders).
    Tender("ledger", _("Gift card, points, credit"), "pay_tenders", "pos/_tenders.html#ledger"),
)
TENDERS_BY_CODE = {tender.code: tender for tender in TENDERS}
DEFAULT_TENDER = TENDERS[0].code


def tender_code(value: str) -> str:
    """The tender a form or an error names, else the default (cash)."""
    return value if value in TENDERS_BY_CODE else DEFAULT_TENDER
