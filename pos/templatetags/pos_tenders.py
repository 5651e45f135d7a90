"""``{{ code|tender_label }}``: a tender's label in the active language (the Z report and
the register page keep the codes, e.g. ``card_terminal``, and show the labels)."""

from __future__ import annotations

from django import template

from pos.session_figures import tender_label as _tender_label

register = template.Library()


@register.filter
def tender_label(code: str) -> str:
    return _tender_label(str(code))
