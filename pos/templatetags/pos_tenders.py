"""``{{ code|tender_label }}``: a tender's label in the active language (the Z report and
the register page keep the codes, e.g. ``card_terminal``, and show the labels);
``{{ kind|cash_move_label }}`` the same for a cash move's kind (``bank_drop``)."""

from __future__ import annotations

from django import template

from pos.models import CashMove
from pos.session_figures import tender_label as _tender_label

register = template.Library()


@register.filter
def tender_label(code: str) -> str:
    return _tender_label(str(code))


@register.filter
def cash_move_label(kind: str) -> str:
    try:
        return str(CashMove.Kind(str(kind)).label)
    except ValueError:  # a kind this version no longer has: its code
        return str(kind)
