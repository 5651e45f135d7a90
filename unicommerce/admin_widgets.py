"""Back-office form pieces shared by the apps' admins.

``AttributesField``: a flat JSON object of text values (a variant's ``{"size": "M",
"colour": "Navy"}``) edited as name/value rows instead of raw JSON. The rows are the
object's pairs in order, then a row per usual name still missing (size, colour), then
blank rows; a row whose value is empty is dropped. What the rows post is read back into
the same object, so an untouched form saves nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: Names offered on every variant (the demo catalogue and CSV imports use these).
KNOWN_ATTRIBUTES = ("size", "colour")
MAX_ROWS = 50
MAX_NAME_LENGTH = 50
MAX_VALUE_LENGTH = 100

Pairs = list[tuple[str, str]]
#: What the widget reads from a post it cannot make sense of (a form error, not "empty").
UNREADABLE = "unreadable"


def _as_pairs(value: Any) -> Pairs:
    """The rows of a value: a dict (the model's), or the rows a form posted."""
    if isinstance(value, dict):
        return [(str(name), "" if text is None else str(text)) for name, text in value.items()]
    if isinstance(value, list | tuple):
        return [(str(name), str(text)) for name, text in value]
    return []


class AttributesWidget(forms.Widget):
    """Name/value text inputs, one row per attribute; ``<name>-rows`` says how many rows
    were shown so the rows are read back in order."""

    blank_rows = 1

    def __init__(self, attrs=None, known: tuple[str, ...] = KNOWN_ATTRIBUTES) -> None:
        super().__init__(attrs)
        self.known = known

    def rows(self, value: Any) -> Pairs:
        pairs = _as_pairs(value)
        names = {name.casefold() for name, _text in pairs}
        pairs += [(name, "") for name in self.known if name.casefold() not in names]
        return pairs + [("", "")] * self.blank_rows

    def render(self, name, value, attrs=None, renderer=None) -> str:
        rows = self.rows(value)
        html_id = (attrs or {}).get("id") or f"id_{name}"
        body = format_html_join(
            "",
            '<tr><td><input type="text" name="{0}-name-{1}" id="{2}-name-{1}" value="{3}"'
            ' maxlength="{6}" aria-label="{4}" list="{7}-names" autocomplete="off"></td>'
            '<td><input type="text" name="{0}-value-{1}" id="{2}-value-{1}" value="{5}"'
            ' maxlength="{8}" aria-label="{9}"></td></tr>',
            (
                (
                    name,
                    index,
                    html_id,
                    row_name,
                    _("attribute name"),
                    text,
                    MAX_NAME_LENGTH,
                    html_id,
                    MAX_VALUE_LENGTH,
                    _("value of %(name)s") % {"name": row_name} if row_name else _("value"),
                )
                for index, (row_name, text) in enumerate(rows)
            ),
        )
        options = format_html_join("", '<option value="{}">', ((known,) for known in self.known))
        return format_html(
            '<table class="attribute-rows" id="{}"><thead><tr><th>{}</th><th>{}</th></tr>'
            '</thead><tbody>{}</tbody></table><datalist id="{}-names">{}</datalist>'
            '<input type="hidden" name="{}-rows" value="{}">',
            html_id,
            _("name"),
            _("value"),
            body,
            html_id,
            options,
            name,
            len(rows),
        )

    def value_from_datadict(self, data, files, name) -> Pairs | str | None:
        """The posted rows; None when the field was not posted at all."""
        if f"{name}-rows" not in data:
            return self._posted_json(data[name]) if name in data else None
        try:
            count = min(int(data[f"{name}-rows"]), MAX_ROWS)
        except ValueError:
            return UNREADABLE
        return [
            (data.get(f"{name}-name-{index}", ""), data.get(f"{name}-value-{index}", ""))
            for index in range(count)
        ]

    @staticmethod
    def _posted_json(raw: str) -> Pairs | str:
        """The JSON object a script may still post as the field itself (the form's
        earlier shape), read as rows; anything else is unreadable."""
        try:
            value = json.loads(raw)
        except ValueError:
            return UNREADABLE
        return _as_pairs(value) if isinstance(value, dict) else UNREADABLE

    def value_omitted_from_data(self, data, files, name) -> bool:
        return f"{name}-rows" not in data and name not in data

    def id_for_label(self, id_):
        return f"{id_}-name-0" if id_ else id_


class AttributesField(forms.Field):
    """Rows in, a ``{name: value}`` dict out (names and values trimmed, empty values
    dropped). A value without a name, or a name given twice, is a form error."""

    widget = AttributesWidget
    default_error_messages = {
        "unnamed": gettext_lazy("Give a name to the value “%(value)s”."),
        "twice": gettext_lazy("The attribute “%(name)s” is given twice."),
        "rows": gettext_lazy("The attributes could not be read: reload the page."),
    }

    def prepare_value(self, value):
        return _as_pairs(value)

    def to_python(self, value) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, str):
            raise ValidationError(self.error_messages["rows"], code="rows")
        attributes: dict[str, str] = {}
        seen: set[str] = set()
        for raw_name, raw_text in _as_pairs(value):
            name, text = raw_name.strip()[:MAX_NAME_LENGTH], raw_text.strip()[:MAX_VALUE_LENGTH]
            if not text:
                continue
            if not name:
                raise ValidationError(
                    self.error_messages["unnamed"], code="unnamed", params={"value": text}
                )
            if name.casefold() in seen:
                raise ValidationError(
                    self.error_messages["twice"], code="twice", params={"name": name}
                )
            seen.add(name.casefold())
            attributes[name] = text
        return attributes

    def has_changed(self, initial, data) -> bool:
        if data is None:  # not posted: nothing to change
            return False
        try:
            posted = self.to_python(data)
        except ValidationError:
            return True
        before = {name: text for name, text in _as_pairs(initial or {}) if text.strip()}
        return before != posted
