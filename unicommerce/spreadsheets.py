"""CSV files written for people to open in a spreadsheet, safe from formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a
tab or a carriage return) as a formula: a customer named ``=HYPERLINK("http://x","y")``
becomes a live link, or worse, in the export a colleague opens. As OWASP advises, such a
cell is written with a leading single quote, which spreadsheets take as "text" and do not
show. Numbers (``-5``, ``+33``, ``12.5``) are left as they are: a number runs nothing.

``spreadsheet_value`` undoes ``spreadsheet_cell`` exactly, for an import that reads back
our own exports (one leading quote is dropped only where ``spreadsheet_cell`` adds one).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text)


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as written to a CSV cell: a text a spreadsheet would run gets a quote."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def spreadsheet_value(text: str) -> str:
    """The value ``spreadsheet_cell`` wrote as ``text`` (the inverse, for importers)."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text


class SpreadsheetWriter:
    """``csv.writer`` whose rows go through ``spreadsheet_cell``."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
