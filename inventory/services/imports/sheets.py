"""Reading an import file: decode it, find its delimiter, check its header, and give its
rows as {column: value}; the columns each kind of file has."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from inventory.exceptions import ImportEmpty, ImportFileInvalid
from inventory.models import ImportJob
from unicommerce.exceptions import InvalidInput
from unicommerce.spreadsheets import spreadsheet_value

Kind = ImportJob.Kind

ATTRIBUTE_PREFIX = "attr:"
NAMED_ATTRIBUTES = ("size", "colour")
PRODUCT_COLUMNS = (
    "sku",
    "product",
    "brand",
    "category",
    "vat_rate",
    "price",
    "currency",
    "barcodes",
    "active",
    *NAMED_ATTRIBUTES,
)
PRODUCT_REQUIRED = ("sku", "product", "vat_rate", "price")
STOCK_COLUMNS = ("sku", "location", "on_hand", "safety")
STOCK_REQUIRED = ("sku", "location", "on_hand")
COLUMNS = {Kind.PRODUCTS: PRODUCT_COLUMNS, Kind.STOCK: STOCK_COLUMNS}
REQUIRED = {Kind.PRODUCTS: PRODUCT_REQUIRED, Kind.STOCK: STOCK_REQUIRED}

BARCODE_SEPARATOR = "|"
MAX_ROWS = 100_000  # ~10 ms a created variant: well within the task's time limit


class ImportKindUnknown(InvalidInput):
    code = "import_kind_unknown"

    def __init__(self, kind: str) -> None:
        super().__init__(
            _("“%(kind)s” is not a kind of import (use %(kinds)s).")
            % {"kind": kind, "kinds": ", ".join(Kind.values)},
            kind=kind,
        )


class ImportColumnsMissing(InvalidInput):
    code = "import_columns_missing"

    def __init__(self, *, kind: str, missing: list[str]) -> None:
        super().__init__(
            _("The file lacks the required columns %(missing)s (a %(kind)s file needs %(needed)s).")
            % {
                "missing": ", ".join(missing),
                "kind": Kind(kind).label,
                "needed": ", ".join(REQUIRED[kind]),
            },
            kind=kind,
            missing=missing,
        )


class ImportColumnsUnknown(InvalidInput):
    code = "import_columns_unknown"

    def __init__(self, *, kind: str, unknown: list[str]) -> None:
        known = ", ".join(COLUMNS[kind])
        if kind == Kind.PRODUCTS:
            known += ", attr:<name>"
        super().__init__(
            _("The file has columns this import does not know: %(unknown)s (known: %(known)s).")
            % {"unknown": ", ".join(unknown), "known": known},
            kind=kind,
            unknown=unknown,
        )


def row_error(row: int | None, column: str, value: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "value": value, "message": message}


@dataclass
class Sheet:
    """A decoded CSV file: normalised column names ("" for a header cell left empty) and
    its non-blank data rows as (row number, cells); row 1 is the first line after the
    header."""

    delimiter: str
    columns: list[str]
    rows: list[tuple[int, list[str]]]

    def has(self, column: str) -> bool:
        return column in self.columns


def sheet_decode(content: str | bytes) -> str:
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFileInvalid(
                _(
                    "The file is not UTF-8 text. Save it as “CSV UTF-8” "
                    "(comma- or semicolon-separated)."
                )
            ) from None
    else:
        text = content
    if "\x00" in text:
        raise ImportFileInvalid(_("The file contains NUL characters: it is not a CSV text file."))
    return text.removeprefix("\ufeff")


def _sniff(text: str) -> str:
    """The delimiter of the header line: "," unless ";" (French spreadsheets) or a tab
    is more frequent. Column names never contain any of them."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def column_name(raw: str) -> str:
    """A header cell as the import knows it: trimmed and lower-case, except the name of
    an ``attr:<name>`` attribute, which keeps its case."""
    name = raw.strip()
    if name[: len(ATTRIBUTE_PREFIX)].lower() == ATTRIBUTE_PREFIX:
        return ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :].strip()
    return name.lower()


def attribute_key(column: str) -> str | None:
    """The variant attribute a products column fills, or None for other columns."""
    if column in NAMED_ATTRIBUTES:
        return column
    if column.startswith(ATTRIBUTE_PREFIX) and len(column) > len(ATTRIBUTE_PREFIX):
        return column[len(ATTRIBUTE_PREFIX) :]
    return None


def _check_columns(columns: list[str], kind: str) -> None:
    names = [name for name in columns if name]
    missing = [name for name in REQUIRED[kind] if name not in names]
    if missing:
        raise ImportColumnsMissing(kind=kind, missing=missing)
    unknown = [
        name
        for name in names
        if name not in COLUMNS[kind] and not (kind == Kind.PRODUCTS and attribute_key(name))
    ]
    if unknown:
        raise ImportColumnsUnknown(kind=kind, unknown=unknown)
    seen: set[str] = set()
    for name in names:
        key = attribute_key(name) if kind == Kind.PRODUCTS else None
        identity = f"{ATTRIBUTE_PREFIX}{key}" if key else name
        if identity in seen:
            raise ImportFileInvalid(
                _("The column %(column)s appears twice in the header.") % {"column": name},
                column=name,
            )
        seen.add(identity)


def sheet_read(*, text: str, kind: str) -> Sheet:
    """Parse a decoded file and check its header; raise a DomainError for a file that
    cannot be imported at all."""
    if kind not in Kind.values:
        raise ImportKindUnknown(kind)
    delimiter = _sniff(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileInvalid(
            _("The file is not a readable CSV file (%(error)s).") % {"error": error}
        ) from None
    start = next((i for i, cells in enumerate(records) if any(c.strip() for c in cells)), None)
    if start is None:
        raise ImportEmpty()
    columns = [column_name(cell) for cell in records[start]]
    _check_columns(columns, kind)
    rows = [
        (number, cells)
        for number, cells in enumerate(records[start + 1 :], start=1)
        if any(cell.strip() for cell in cells)
    ]
    if not rows:
        raise ImportEmpty()
    if len(rows) > MAX_ROWS:
        raise ImportFileInvalid(
            _("The file has %(rows)s rows; split it into files of at most %(max)s rows.")
            % {"rows": len(rows), "max": MAX_ROWS},
            rows=len(rows),
        )
    return Sheet(delimiter=delimiter, columns=columns, rows=rows)


def row_values(sheet: Sheet, number: int, cells: list[str], errors: list[dict]) -> dict[str, str]:
    """{column: trimmed value} of one row; a value outside the named columns is an error.

    A cell our exports quoted so that a spreadsheet does not run it ("'=SUM(…)",
    ``unicommerce.spreadsheets``) is read without that quote: an export imported back
    gives the values it was written from."""
    values = {name: "" for name in sheet.columns if name}
    for index, cell in enumerate(cells):
        name = sheet.columns[index] if index < len(sheet.columns) else ""
        if name:
            values[name] = spreadsheet_value(cell.strip()).strip()
        elif cell.strip():
            errors.append(
                row_error(
                    number,
                    "",
                    cell.strip(),
                    _("Column %(position)s of this row has a value but no column name.")
                    % {"position": index + 1},
                )
            )
    return values


def chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
