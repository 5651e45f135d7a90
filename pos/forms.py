"""Forms of the till: they check the shape of what the seller typed; services decide."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Return, ReturnLine
from unicommerce.converters import BIGINT_MAX

# The most of one item a line of the till's cart takes: more is a typing slip (and past
# the quantity column's range, a crash), never a sale.
MAX_LINE_QUANTITY = 9999

COUNTRIES = [
    ("FR", _("France")),
    ("BE", _("Belgium")),
    ("LU", _("Luxembourg")),
    ("CH", _("Switzerland")),
    ("DE", _("Germany")),
    ("ES", _("Spain")),
    ("IT", _("Italy")),
    ("GB", _("United Kingdom")),
]
POSTAL_CODES = {
    "FR": re.compile(r"^\d{5}$"),
    "DE": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
    "BE": re.compile(r"^\d{4}$"),
    "LU": re.compile(r"^\d{4}$"),
    "CH": re.compile(r"^\d{4}$"),
}


class ShippingAddressForm(forms.Form):
    """Where a line shipped home (endless aisle) goes."""

    prefix = "ship"

    name = forms.CharField(label=_("Name"), max_length=100)
    line1 = forms.CharField(label=_("Address"), max_length=200)
    line2 = forms.CharField(label=_("Address (continued)"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=16)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES, initial="FR")

    def clean(self):
        data = super().clean()
        country, postal_code = data.get("country"), (data.get("postal_code") or "").strip()
        pattern = POSTAL_CODES.get(country or "")
        if postal_code and pattern is not None and not pattern.match(postal_code):
            self.add_error("postal_code", _("This is not a postal code of the country chosen."))
        return data

    def address(self) -> dict[str, str]:
        return {key: str(value).strip() for key, value in self.cleaned_data.items() if value}


class CustomerNameForm(forms.Form):
    """The customer named at the till: their names (optional) and at least one contact
    (phone or email, checked by the customers service)."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        too_long = _("At most %(max)s characters.") % {"max": 100}
        for field in self.fields.values():
            field.error_messages["max_length"] = too_long


def _line_quantity_messages() -> tuple[dict, dict]:
    choose = _("Choose a line of the cart.")
    whole = _("Quantity must be a whole number from 0 to %(max)s.") % {"max": MAX_LINE_QUANTITY}
    at_most = _("At most %(max)s of an item on one line.") % {"max": MAX_LINE_QUANTITY}
    line = dict.fromkeys(("required", "invalid", "min_value", "max_value"), choose)
    quantity = {**dict.fromkeys(("required", "invalid", "min_value"), whole), "max_value": at_most}
    return line, quantity


class LineQuantityForm(forms.Form):
    """The quantity action (the +, − and × buttons of a cart line): which line, how many
    (0 removes it). ``error`` is the one sentence the seller reads when it is not valid."""

    line = forms.IntegerField(min_value=1, max_value=BIGINT_MAX)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_LINE_QUANTITY)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        line, quantity = _line_quantity_messages()
        self.fields["line"].error_messages.update(line)
        self.fields["quantity"].error_messages.update(quantity)

    @property
    def error(self) -> str:
        return next(iter(self.errors.get("line") or self.errors.get("quantity") or [""]))


class ReturnOptionsForm(forms.Form):
    """The choices of a return that apply to all its lines."""

    restock = forms.ChoiceField(
        label=_("Put the goods"),
        choices=[("here", _("back on sale here")), ("quarantine", _("in quarantine"))],
        initial="here",
        widget=forms.RadioSelect,
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=Return.Outcome.choices,
        initial=Return.Outcome.REFUND,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


REASONS = ReturnLine.Reason.choices
