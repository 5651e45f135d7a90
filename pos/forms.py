"""Forms of the till: they check the shape of what the seller typed; services decide."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Return, ReturnLine

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
