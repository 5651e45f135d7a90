"""CSV import and export of products and of stock levels.

An import is an ``ImportJob``. When it is created the file is decoded and its header
checked, so a wrong file is refused at once and no job exists. A worker then runs it in
two phases: phase 1 checks **every** row and collects every error; phase 2 runs only when
there is none, in one transaction, so a file is imported completely or not at all.

The job row cannot show progress while phase 2's transaction is open (nobody else sees
it before the commit), so the runner publishes its figures through the cache, under
``import-progress:<job id>``; ``import_progress`` merges them with the row for the admin.

A job is being run exactly when its row is locked: the runner holds the row lock
(``SELECT … FOR UPDATE SKIP LOCKED``) from its first check to its final write. A second
delivery of the task skips a locked row, and a job left ``running`` by a worker that died
(its lock went with its connection) is picked up again by the next delivery.

Exports write exactly the import format, so exporting then importing an unchanged
database changes nothing. The column reference is docs/csv.md.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from babel.numbers import is_currency
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import CharField, F, Func, Prefetch
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import services as catalog
from catalog.barcodes import barcode_problem
from catalog.exceptions import DuplicateBarcode, InvalidBarcode
from catalog.models import Barcode, Category, Product, Variant, VatRate
from inventory.models import ImportJob, Location, StockLevel, StockMovement
from inventory.selectors import levels_with_availability
from inventory.services.stock import stock_receive_many, stock_safety_set, stock_take
from inventory.tasks import import_run_task
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS, minor_unit
from unicommerce.spreadsheets import spreadsheet_value

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

Kind = ImportJob.Kind
Status = ImportJob.Status
FINISHED = frozenset({Status.DONE, Status.FAILED})

# --------------------------------------------------------------------------- columns

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
YES = frozenset({"yes", "y", "true", "1", "oui", "o", "vrai"})
NO = frozenset({"no", "n", "false", "0", "non", "faux"})
VAT_RATES = tuple(Decimal(value) for value in VatRate.values)
MAX_ROWS = 100_000  # ~10 ms a created variant: well within the task's time limit
MAX_QUANTITY = 1_000_000_000
MAX_ERRORS = 5_000  # stored on the job; the summary keeps the full count

# --------------------------------------------------------------------------- progress

PROGRESS_EVERY = 250  # rows between two progress figures (and the size of a stock batch)
PROGRESS_TIMEOUT = 2 * 3600  # longer than the task's time limit
PROGRESS_KEPT = 3600  # after the end; the row has the final figures anyway
CHECKING = "checking"
WRITING = "writing"
PHASE_LABELS = {CHECKING: gettext_lazy("checking every row"), WRITING: gettext_lazy("writing")}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WHOLE = re.compile(r"\d+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SPACES = str.maketrans("", "", " \u00a0\u202f")


# --------------------------------------------------------------------------- errors


class ImportFileInvalid(InvalidInput):
    """The file cannot be imported at all (not UTF-8, not CSV, too long, a bad header)."""

    code = "import_file_invalid"


class ImportEmpty(InvalidInput):
    code = "import_empty"

    def __init__(self) -> None:
        super().__init__(_("The file is empty: it needs a header line and at least one row."))


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


class ImportFinished(InvalidInput):
    code = "import_finished"

    def __init__(self, job: ImportJob) -> None:
        super().__init__(
            _("The import %(job)s is over (%(status)s): upload the file again to rerun it.")
            % {"job": job.pk, "status": job.get_status_display()},
            job=job.pk,
            status=job.status,
        )


class ImportConcurrentChange(DomainError):
    """Stock moved between reading a level and writing its count: nothing was written."""

    code = "import_concurrent_change"

    def __init__(self, *, sku: str, location: str) -> None:
        super().__init__(
            _(
                "The stock of %(sku)s at %(location)s changed while the file was being "
                "imported; nothing was written. Import the file again."
            )
            % {"sku": sku, "location": location},
            sku=sku,
            location=location,
        )


class _CellError(Exception):
    """A cell's value is wrong; the message says why (becomes one row error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _row_error(row: int | None, column: str, value: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "value": value, "message": message}


# --------------------------------------------------------------------------- reading a file


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


def _decode(content: str | bytes) -> str:
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


def _values(sheet: Sheet, number: int, cells: list[str], errors: list[dict]) -> dict[str, str]:
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
                _row_error(
                    number,
                    "",
                    cell.strip(),
                    _("Column %(position)s of this row has a value but no column name.")
                    % {"position": index + 1},
                )
            )
    return values


def _chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- jobs


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def _cache_set(key: str, value: dict, timeout: int) -> None:
    # Progress is a courtesy: an unreachable cache must never fail an import.
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("could not publish import progress %s", key, exc_info=True)


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("could not clear import progress %s", key, exc_info=True)


def _cache_get(key: str) -> dict | None:
    try:
        return cache.get(key)
    except Exception:
        logger.warning("could not read import progress %s", key, exc_info=True)
        return None


def _enqueue(job_id: int) -> None:
    # After commit only: a worker must find the job. robust: a broker outage leaves the
    # job waiting (the admin can queue it again) instead of failing the upload.
    transaction.on_commit(partial(import_run_task.delay, job_id), robust=True)


@transaction.atomic
def import_job_create(
    *, kind: str, filename: str, content: str | bytes, user: AbstractBaseUser | None = None
) -> ImportJob:
    """Store an uploaded CSV file as a waiting import and queue it for a worker.

    The file must be UTF-8 (with or without a byte-order mark), separated by commas or
    semicolons, with a header naming at least the required columns; otherwise a
    DomainError says what is wrong and no job is created.
    """
    text = _decode(content)
    sheet = sheet_read(text=text, kind=kind)
    job = ImportJob.objects.create(
        kind=kind,
        status=Status.PENDING,
        filename=os.path.basename(filename.replace("\\", "/"))[:255] or "import.csv",
        content=text,
        total_rows=len(sheet.rows),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    _cache_delete(progress_key(job.pk))  # left by a job of an earlier database, same id
    _enqueue(job.pk)
    return job


@transaction.atomic
def import_job_enqueue(*, job: ImportJob) -> None:
    """Queue a waiting job again (its first queueing was lost, or its worker died).
    Running it twice is harmless: a job is run once."""
    current = ImportJob.objects.only("status").get(pk=job.pk)
    if current.status in FINISHED:
        raise ImportFinished(current)
    _enqueue(job.pk)


def import_progress(*, job: ImportJob) -> dict[str, Any]:
    """Where a job is: ``status``, ``phase`` (checking / writing, while it runs),
    ``processed`` and ``total`` rows of that phase, ``percent``, ``finished``.

    While it runs the figures come from the cache (the runner's transaction hides them
    from the row); once it is over, from the row.
    """
    processed, total, phase = job.processed_rows, job.total_rows, None
    if job.status not in FINISHED:
        published = _cache_get(progress_key(job.pk))
        if published:
            processed = published.get("processed", processed)
            total = published.get("total", total)
            phase = published.get("phase")
    percent = min(100, round(100 * processed / total)) if total else 0
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": phase,
        "phase_label": str(PHASE_LABELS[phase]) if phase in PHASE_LABELS else "",
        "processed": processed,
        "total": total,
        "percent": percent,
        "finished": job.status in FINISHED,
    }


class _Progress:
    """Publishes a running job's figures every PROGRESS_EVERY rows."""

    def __init__(self, job: ImportJob) -> None:
        self.key = progress_key(job.pk)
        self.total = job.total_rows
        self.phase = CHECKING
        self.processed = 0
        self.checked = 0

    def start(self, phase: str) -> None:
        self.phase, self.processed = phase, 0
        self.publish()

    def step(self, count: int = 1) -> None:
        before = self.processed
        self.processed += count
        if self.phase == CHECKING:
            self.checked = self.processed
        if self.processed // PROGRESS_EVERY != before // PROGRESS_EVERY or (
            self.processed == self.total
        ):
            self.publish()

    def publish(self, *, timeout: int = PROGRESS_TIMEOUT) -> None:
        figures = {"phase": self.phase, "processed": self.processed, "total": self.total}
        _cache_set(self.key, figures, timeout)


def _claim(job_id: int) -> bool:
    """Move a waiting job to running, committed, so every page shows it has started."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.status in FINISHED:
            return False
        if job.status != Status.RUNNING:
            job.status = Status.RUNNING
            job.save(update_fields=["status"])
    return True


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run one import: check every row, then write all of them in one transaction, or
    nothing when a single row is wrong. Returns the finished job, or None when there was
    nothing to do (already finished, or being run by another worker right now).
    """
    if not _claim(job_id):
        return None
    with transaction.atomic():
        # Held until the end: while it is, a second delivery of the task skips the job.
        job = (
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=Status.RUNNING)
            .first()
        )
        if job is None:
            return None
        _run(job)
    return job


def _run(job: ImportJob) -> None:
    progress = _Progress(job)
    progress.start(CHECKING)
    importer: _Import | None = None
    errors: list[dict] = []
    summary: dict[str, int] = {}
    try:
        with transaction.atomic():  # a savepoint: whatever fails below, nothing stays
            sheet = sheet_read(text=job.content, kind=job.kind)
            importer = (_ProductImport if job.kind == Kind.PRODUCTS else _StockImport)(
                job=job, sheet=sheet, progress=progress
            )
            errors = importer.check()
            if not errors:
                progress.start(WRITING)
                summary = importer.write()
    except DomainError as error:
        row = importer.current_row if importer is not None else None
        errors = [_row_error(row, "", "", error.message)]
    except Exception as error:  # a bug or the time limit: the job must not stay running
        logger.exception("import %s stopped", job.pk)
        errors = [
            _row_error(
                importer.current_row if importer is not None else None,
                "",
                "",
                _("The import stopped on an unexpected error (%(error)s); nothing was written.")
                % {"error": type(error).__name__},
            )
        ]
    job.status = Status.FAILED if errors else Status.DONE
    job.errors = errors[:MAX_ERRORS]
    job.summary = {"rows": job.total_rows, "errors": len(errors)} if errors else summary
    job.processed_rows = job.total_rows if not errors else progress.checked
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "summary", "processed_rows", "finished_at"])
    progress.publish(timeout=PROGRESS_KEPT)


def _sorted_errors(errors: list[dict], columns: list[str]) -> list[dict]:
    order = {name: index for index, name in enumerate(columns)}
    return sorted(errors, key=lambda e: (e["row"] or 0, order.get(e["column"], -1)))


class _Import(ABC):
    """One kind of file: ``check`` returns every row error; ``write`` (only called when
    there is none, inside the transaction) returns the summary."""

    def __init__(self, *, job: ImportJob, sheet: Sheet, progress: _Progress) -> None:
        self.job = job
        self.sheet = sheet
        self.progress = progress
        self.user = job.created_by
        self.note = f"CSV import {job.filename}"
        self.current_row: int | None = None
        self.errors: list[dict] = []

    def error(self, row: int, column: str, value: str, message: str) -> None:
        self.errors.append(_row_error(row, column, value, message))

    def rows(self) -> list[tuple[int, dict[str, str]]]:
        return [
            (number, _values(self.sheet, number, cells, self.errors))
            for number, cells in self.sheet.rows
        ]

    @abstractmethod
    def check(self) -> list[dict]:
        """Every row error (phase 1); reads only."""

    @abstractmethod
    def write(self) -> dict[str, int]:
        """Write every row (phase 2); the summary."""


# --------------------------------------------------------------------------- cell parsers


def _parse_vat(text: str) -> Decimal:
    cleaned = text.translate(_SPACES).removesuffix("%").replace(",", ".")
    if _NUMBER.fullmatch(cleaned):
        value = Decimal(cleaned)
        for rate in VAT_RATES:
            if rate == value:
                return rate
    raise _CellError(_("A VAT rate is 20, 10, 5.5 or 2.1."))


def _parse_price(text: str, currency: str) -> Decimal:
    cleaned = text.translate(_SPACES).replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise _CellError(_("A price is an amount of zero or more, such as 19.90 or 19,90."))
    value = Decimal(cleaned)
    places = min(-minor_unit(currency).as_tuple().exponent, DECIMAL_PLACES)
    if value.quantize(Decimal(1).scaleb(-places)) != value:
        raise _CellError(
            _("A price in %(currency)s has at most %(places)s decimals.")
            % {"currency": currency, "places": places}
        )
    if value >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        raise _CellError(_("This price is too large."))
    return value


def _parse_currency(text: str) -> str:
    if not text:
        return settings.DEFAULT_CURRENCY
    code = text.upper()
    if not _CURRENCY.fullmatch(code) or not is_currency(code):
        raise _CellError(_("A currency is an ISO 4217 code such as EUR."))
    return code


def _parse_active(text: str) -> bool:
    lowered = text.lower()
    if not lowered or lowered in YES:
        return True
    if lowered in NO:
        return False
    raise _CellError(_("Write yes or no."))


def _parse_quantity(text: str) -> int:
    if not _WHOLE.fullmatch(text) or int(text) > MAX_QUANTITY:
        raise _CellError(_("A quantity is a whole number of zero or more."))
    return int(text)


def _format_vat(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


# --------------------------------------------------------------------------- products


@dataclass
class _ProductRow:
    number: int
    sku: str
    price: Decimal
    currency: str | None  # None: no currency column
    barcodes: list[str] | None  # None: no barcodes column
    active: bool | None  # None: no active column
    attributes: dict[str, str]  # the file's attribute columns; "" removes the attribute


@dataclass
class _Group:
    """The rows of one product: same ``product`` and ``brand`` cells."""

    name: str
    brand: str | None  # None: no brand column
    rows: list[_ProductRow] = field(default_factory=list)
    category: Category | None = None
    vat_rate: Decimal | None = None
    defined_by: dict[str, int] = field(default_factory=dict)  # column -> first row giving it
    product_id: int | None = None


class _ProductImport(_Import):
    def check(self) -> list[dict]:
        sheet = self.sheet
        rows = self.rows()
        skus = {v["sku"].upper() for _n, v in rows if v["sku"]}
        self.existing: dict[str, Variant] = {}
        for chunk in _chunks(sorted(skus), 2000):
            variants = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for variant in variants.select_related("product"):
                self.existing[variant.sku.upper()] = variant
        codes = {
            code.strip()
            for _n, values in rows
            for code in values.get("barcodes", "").split(BARCODE_SEPARATOR)
            if code.strip()
        }
        owners: dict[str, str] = {}
        for chunk in _chunks(sorted(codes), 2000):
            owners.update(
                Barcode.objects.filter(code__in=chunk).values_list("code", "variant__sku")
            )
        slugs = {values.get("category", "") for _n, values in rows} - {""}
        categories = {c.slug: c for c in Category.objects.filter(slug__in=slugs)}

        self.groups: dict[tuple[str, str | None], _Group] = {}
        seen_skus: dict[str, int] = {}
        seen_codes: dict[str, int] = {}
        attribute_columns = [(c, attribute_key(c)) for c in sheet.columns if attribute_key(c)]
        for number, values in rows:
            self._check_row(
                number,
                values,
                categories=categories,
                owners=owners,
                seen_skus=seen_skus,
                seen_codes=seen_codes,
                attribute_columns=attribute_columns,
            )
            self.progress.step()
        self._resolve_products()
        return _sorted_errors(self.errors, sheet.columns)

    def _check_row(
        self,
        number: int,
        values: dict[str, str],
        *,
        categories: dict[str, Category],
        owners: dict[str, str],
        seen_skus: dict[str, int],
        seen_codes: dict[str, int],
        attribute_columns: list[tuple[str, str | None]],
    ) -> None:
        sheet = self.sheet
        before = len(self.errors)

        def cell[V](column: str, parse: Callable[[str], V]) -> V | None:
            try:
                return parse(values[column])
            except _CellError as error:
                self.error(number, column, values[column], error.message)
                return None

        sku = values["sku"]
        if not sku:
            self.error(number, "sku", sku, _("A SKU is required."))
        elif len(sku) > Variant._meta.get_field("sku").max_length:
            self.error(number, "sku", sku, _("A SKU has at most 64 characters."))
        elif sku.upper() in seen_skus:
            self.error(
                number,
                "sku",
                sku,
                _("The SKU %(sku)s is also on row %(row)s.")
                % {"sku": sku, "row": seen_skus[sku.upper()]},
            )
        else:
            seen_skus[sku.upper()] = number
        existing = self.existing.get(sku.upper()) if sku else None

        name = values["product"]
        if not name:
            self.error(number, "product", name, _("A product name is required."))
        elif len(name) > Product._meta.get_field("name").max_length:
            self.error(number, "product", name, _("A product name has at most 200 characters."))
        brand = values.get("brand") if sheet.has("brand") else None
        if brand and len(brand) > Product._meta.get_field("brand").max_length:
            self.error(number, "brand", brand, _("A brand has at most 100 characters."))

        category = None
        slug = values.get("category", "")
        if slug:
            category = categories.get(slug)
            if category is None:
                self.error(
                    number,
                    "category",
                    slug,
                    _("No category has the slug “%(slug)s”.") % {"slug": slug},
                )
        vat_rate = cell("vat_rate", _parse_vat)

        currency = None
        if sheet.has("currency"):
            currency = cell("currency", _parse_currency)
            if currency and existing is not None and existing.currency != currency:
                self.error(
                    number,
                    "currency",
                    values["currency"],
                    _("This variant is priced in %(currency)s; an import cannot change that.")
                    % {"currency": existing.currency},
                )
        price_currency = currency or (existing.currency if existing else None)
        price = cell(
            "price", partial(_parse_price, currency=price_currency or settings.DEFAULT_CURRENCY)
        )
        active = cell("active", _parse_active) if sheet.has("active") else None

        barcodes = None
        if sheet.has("barcodes"):
            barcodes = self._check_barcodes(number, values["barcodes"], sku, owners, seen_codes)

        if len(self.errors) > before or vat_rate is None or price is None:
            return  # a wrong row joins no product: its other checks would only add noise
        group = self.groups.setdefault((name, brand), _Group(name=name, brand=brand))
        self._check_product_fields(group, number, values, category=category, vat_rate=vat_rate)
        group.rows.append(
            _ProductRow(
                number=number,
                sku=sku,
                price=price,
                currency=currency,
                barcodes=barcodes,
                active=active,
                attributes={key: values[column] for column, key in attribute_columns},
            )
        )

    def _check_barcodes(
        self,
        number: int,
        text: str,
        sku: str,
        owners: dict[str, str],
        seen_codes: dict[str, int],
    ) -> list[str]:
        codes: list[str] = []
        for code in (piece.strip() for piece in text.split(BARCODE_SEPARATOR)):
            if not code:
                continue
            problem = barcode_problem(code)
            owner = owners.get(code)
            if problem:
                self.error(number, "barcodes", text, InvalidBarcode(code, problem).message)
            elif code in seen_codes:
                self.error(
                    number,
                    "barcodes",
                    text,
                    _("The barcode %(code)s is also on row %(row)s.")
                    % {"code": code, "row": seen_codes[code]},
                )
            elif owner is not None and owner.upper() != sku.upper():
                self.error(number, "barcodes", text, DuplicateBarcode(code, owner).message)
            else:
                seen_codes[code] = number
                codes.append(code)
        return codes

    def _check_product_fields(
        self,
        group: _Group,
        number: int,
        values: dict[str, str],
        *,
        category: Category | None,
        vat_rate: Decimal,
    ) -> None:
        """Every row of a product gives it the same category and VAT rate."""
        given = {"vat_rate": vat_rate}
        if self.sheet.has("category"):
            given["category"] = category
        for column, value in given.items():
            first = group.defined_by.get(column)
            if first is None:
                group.defined_by[column] = number
                setattr(group, column, value)
            elif getattr(group, column) != value:
                self.error(
                    number,
                    column,
                    values[column],
                    _("Row %(row)s gives the same product another %(column)s.")
                    % {"row": first, "column": column},
                )

    def _resolve_products(self) -> None:
        """Which existing product each group updates: the product of its SKUs already
        known, else the oldest product with that name (and brand); else a new one."""
        claimed: dict[int, _Group] = {}
        for group in self.groups.values():
            known = [
                (row, self.existing[row.sku.upper()])
                for row in group.rows
                if row.sku.upper() in self.existing
            ]
            if not known:
                continue
            first_row, first = known[0]
            for row, variant in known[1:]:
                if variant.product_id != first.product_id:
                    self.error(
                        row.number,
                        "product",
                        group.name,
                        _(
                            "The SKU %(sku)s belongs to the product “%(product)s” and the SKU "
                            "of row %(row)s to another one: a variant cannot change product."
                        )
                        % {
                            "sku": row.sku,
                            "product": variant.product.name,
                            "row": first_row.number,
                        },
                    )
            if first.product_id in claimed:
                self.error(
                    group.rows[0].number,
                    "product",
                    group.name,
                    _(
                        "The variants of the product “%(product)s” are also on row %(row)s "
                        "under another name."
                    )
                    % {
                        "product": first.product.name,
                        "row": claimed[first.product_id].rows[0].number,
                    },
                )
            else:
                claimed[first.product_id] = group
                group.product_id = first.product_id
        waiting = [g for g in self.groups.values() if g.product_id is None]
        if not waiting:
            return
        candidates = Product.objects.filter(name__in={g.name for g in waiting}).order_by("pk")
        by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, name, brand in candidates.values_list("pk", "name", "brand"):
            by_name[name].append((pk, brand))
        for group in waiting:
            for pk, brand in by_name.get(group.name, []):
                if pk not in claimed and (group.brand is None or group.brand == brand):
                    claimed[pk] = group
                    group.product_id = pk
                    break

    # ----------------------------------------------------------------------- writing

    def write(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        fresh: dict[str, Variant] = {}
        keys = sorted(self.existing)
        for chunk in _chunks(keys, 2000):
            variants = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for variant in variants.select_related("product").prefetch_related(
                Prefetch("barcodes", queryset=Barcode.objects.order_by("id"))
            ):
                fresh[variant.sku.upper()] = variant
        for group in self.groups.values():
            self.current_row = group.rows[0].number
            product, product_changed = self._write_product(group, counts)
            for row in group.rows:
                self.current_row = row.number
                variant = fresh.get(row.sku.upper())
                if variant is None:
                    self._create_variant(product, row)
                    counts["created"] += 1
                elif self._update_variant(variant, row) or product_changed:
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                self.progress.step()
        self.current_row = None
        return {
            "rows": self.job.total_rows,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "products_created": counts["products_created"],
            "products_updated": counts["products_updated"],
        }

    def _write_product(self, group: _Group, counts: Counter[str]) -> tuple[Product, bool]:
        wanted: dict[str, Any] = {"name": group.name, "vat_rate": group.vat_rate}
        if group.brand is not None:
            wanted["brand"] = group.brand
        if self.sheet.has("category"):
            wanted["category"] = group.category
        if group.product_id is None:
            counts["products_created"] += 1
            product = catalog.product_create(user=self.user, **wanted)
            return product, True
        product = Product.objects.select_related("category").get(pk=group.product_id)
        changes = {name: value for name, value in wanted.items() if getattr(product, name) != value}
        if not changes:
            return product, False
        counts["products_updated"] += 1
        return catalog.product_update(product=product, user=self.user, **changes), True

    def _create_variant(self, product: Product, row: _ProductRow) -> None:
        variant = catalog.variant_create(
            product=product,
            sku=row.sku,
            price_amount=row.price,
            user=self.user,
            attributes={key: value for key, value in row.attributes.items() if value},
            barcodes=row.barcodes or (),
            currency=row.currency or settings.DEFAULT_CURRENCY,
        )
        if row.active is False:
            catalog.variant_update(variant=variant, user=self.user, is_active=False)

    def _update_variant(self, variant: Variant, row: _ProductRow) -> bool:
        changes: dict[str, Any] = {}
        if variant.price_amount != row.price:
            changes["price_amount"] = row.price
        attributes = _merged_attributes(variant.attributes, row.attributes)
        if attributes != variant.attributes:
            changes["attributes"] = attributes
        if row.active is not None and variant.is_active != row.active:
            changes["is_active"] = row.active
        if changes:
            catalog.variant_update(variant=variant, user=self.user, **changes)
        if row.barcodes is None:
            return bool(changes)
        current = [barcode.code for barcode in variant.barcodes.all()]
        added = [code for code in row.barcodes if code not in current]
        removed = [code for code in current if code not in row.barcodes]
        for code in removed:
            catalog.barcode_remove(variant=variant, code=code, user=self.user)
        for code in added:
            catalog.barcode_add(variant=variant, code=code, user=self.user)
        return bool(changes or added or removed)


def _merged_attributes(current: object, wanted: dict[str, str]) -> dict:
    """The variant's attributes with the file's attribute columns applied: a value sets
    it (a number stored as 42 equals the text "42"), an empty cell removes it; attributes
    without a column in the file are kept."""
    result = dict(current) if isinstance(current, dict) else {}
    for key, value in wanted.items():
        if not value:
            result.pop(key, None)
        elif key not in result or str(result[key]) != value:
            result[key] = value
    return result


# --------------------------------------------------------------------------- stock levels


@dataclass
class _StockRow:
    number: int
    sku: str
    variant_id: int
    location_id: int
    location: str
    on_hand: int
    safety: int | None  # None: leave the safety stock as it is


class _StockImport(_Import):
    def check(self) -> list[dict]:
        rows = self.rows()
        skus = {v["sku"].upper() for _n, v in rows if v["sku"]}
        variants: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted(skus), 2000):
            found = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for key, pk, sku in found.values_list("key", "pk", "sku"):
                variants[key] = (pk, sku)
        codes = {v["location"].upper() for _n, v in rows if v["location"]}
        locations = {
            key: (pk, name)
            for key, pk, name in Location.objects.annotate(key=Upper("code"))
            .filter(key__in=codes)
            .values_list("key", "pk", "name")
        }
        levels = self._levels(
            {variants[k][0] for k in skus if k in variants}, {pk for pk, _n in locations.values()}
        )
        self.rows_to_write: list[_StockRow] = []
        seen: dict[tuple[int, int], int] = {}
        for number, values in rows:
            self._check_row(number, values, variants, locations, levels, seen)
            self.progress.step()
        return _sorted_errors(self.errors, self.sheet.columns)

    @staticmethod
    def _levels(variant_ids: set[int], location_ids: set[int]) -> dict[tuple[int, int], tuple]:
        """{(variant, location): (on_hand, units reserved and still in time, safety)}."""
        levels: dict[tuple[int, int], tuple] = {}
        for chunk in _chunks(sorted(variant_ids), 2000):
            found = levels_with_availability(
                StockLevel.objects.filter(variant_id__in=chunk, location_id__in=location_ids)
            ).values_list("variant_id", "location_id", "on_hand", "reserved_now", "safety")
            for variant_id, location_id, on_hand, reserved, safety in found:
                levels[(variant_id, location_id)] = (on_hand, reserved, safety)
        return levels

    def _check_row(
        self,
        number: int,
        values: dict[str, str],
        variants: dict[str, tuple[int, str]],
        locations: dict[str, tuple[int, str]],
        levels: dict[tuple[int, int], tuple],
        seen: dict[tuple[int, int], int],
    ) -> None:
        before = len(self.errors)
        sku, code = values["sku"], values["location"]
        variant = variants.get(sku.upper()) if sku else None
        location = locations.get(code.upper()) if code else None
        if not sku:
            self.error(number, "sku", sku, _("A SKU is required."))
        elif variant is None:
            self.error(number, "sku", sku, _("No variant has the SKU “%(sku)s”.") % {"sku": sku})
        if not code:
            self.error(number, "location", code, _("A location code is required."))
        elif location is None:
            self.error(
                number,
                "location",
                code,
                _("No location has the code “%(code)s”.") % {"code": code},
            )
        on_hand = safety = None
        try:
            on_hand = _parse_quantity(values["on_hand"])
        except _CellError as error:
            self.error(number, "on_hand", values["on_hand"], error.message)
        if values.get("safety"):
            try:
                safety = _parse_quantity(values["safety"])
            except _CellError as error:
                self.error(number, "safety", values["safety"], error.message)
        if variant is None or location is None:
            return
        pair = (variant[0], location[0])
        if pair in seen:
            self.error(
                number,
                "sku",
                sku,
                _("The SKU %(sku)s at %(location)s is also on row %(row)s.")
                % {"sku": variant[1], "location": code, "row": seen[pair]},
            )
            return
        seen[pair] = number
        reserved = levels.get(pair, (0, 0, 0))[1]
        if on_hand is not None and on_hand < reserved:
            self.error(
                number,
                "on_hand",
                values["on_hand"],
                _(
                    "%(reserved)s units are reserved for customers at %(location)s: "
                    "on hand cannot go below %(reserved)s."
                )
                % {"reserved": reserved, "location": location[1]},
            )
        if len(self.errors) > before or on_hand is None:
            return
        self.rows_to_write.append(
            _StockRow(number, variant[1], pair[0], pair[1], location[1], on_hand, safety)
        )

    def write(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for batch in _chunks(self.rows_to_write, PROGRESS_EVERY):
            self._write_batch(batch, counts)
            self.progress.step(len(batch))
        return {
            "rows": self.job.total_rows,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "ledger_rows": counts["ledger_rows"],
        }

    def _write_batch(self, batch: Sequence[_StockRow], counts: Counter[str]) -> None:
        """One batch of rows: read the levels as they are now, post each difference as one
        COUNT ledger row (increases in one statement, decreases one statement per
        location), then check each level ended where the file says: a sale or a receipt
        in between would make the absolute figure wrong, so the whole import fails."""
        current = {
            (v, loc): (on_hand, safety)
            for v, loc, on_hand, safety in StockLevel.objects.filter(
                variant_id__in={row.variant_id for row in batch},
                location_id__in={row.location_id for row in batch},
            ).values_list("variant_id", "location_id", "on_hand", "safety")
        }
        increases: list[tuple[int, int, int]] = []
        decreases: dict[int, list[tuple[int, int]]] = defaultdict(list)
        safety_changes: list[_StockRow] = []
        by_pair = {}
        for row in batch:
            pair = (row.variant_id, row.location_id)
            by_pair[pair] = row
            on_hand, safety = current.get(pair, (0, 0))
            difference = row.on_hand - on_hand
            if difference > 0:
                increases.append((row.variant_id, row.location_id, difference))
            elif difference < 0:
                decreases[row.location_id].append((row.variant_id, -difference))
            safety_changed = row.safety is not None and row.safety != safety
            if safety_changed:
                safety_changes.append(row)
            if not difference and not safety_changed:
                counts["unchanged"] += 1
            else:
                counts["updated" if pair in current else "created"] += 1
        arguments = {
            "reason": StockMovement.Reason.COUNT,
            "user": self.user,
            "source": self.job,
            "note": self.note,
        }
        movements = list(stock_receive_many(entries=increases, **arguments))
        for location_id in sorted(decreases):
            movements += stock_take(
                location_id=location_id, lines=decreases[location_id], **arguments
            )
        for movement in movements:
            row = by_pair[(movement.variant_id, movement.location_id)]
            if movement.on_hand_after != row.on_hand:
                self.current_row = row.number
                raise ImportConcurrentChange(sku=row.sku, location=row.location)
        for row in safety_changes:
            self.current_row = row.number
            stock_safety_set(
                variant_id=row.variant_id, location_id=row.location_id, safety=row.safety
            )
        self.current_row = None
        counts["ledger_rows"] += len(movements)


# --------------------------------------------------------------------------- exports

EXPORT_CHUNK = 500


def _attribute_keys() -> list[str]:
    """Every attribute name used by a variant, beyond size and colour, sorted."""
    keys = (
        Variant.objects.annotate(
            kind=Func(F("attributes"), function="jsonb_typeof", output_field=CharField())
        )
        .filter(kind="object")
        .annotate(key=Func(F("attributes"), function="jsonb_object_keys", output_field=CharField()))
        .order_by()
        .values_list("key", flat=True)
        .distinct()
    )
    return sorted(set(keys) - set(NAMED_ATTRIBUTES))


def _attribute_text(value: object) -> str:
    return "" if value is None else str(value)


def products_csv_rows() -> Iterator[list[str]]:
    """The products file, header first, one row per variant, grouped by product: the
    import format. Reads the variants in chunks, never all at once."""
    keys = _attribute_keys()
    yield [*PRODUCT_COLUMNS, *(ATTRIBUTE_PREFIX + key for key in keys)]
    variants = (
        Variant.objects.select_related("product__category")
        .prefetch_related(Prefetch("barcodes", queryset=Barcode.objects.order_by("id")))
        .order_by("product__name", "product__brand", "product_id", "id")
    )
    for variant in variants.iterator(chunk_size=EXPORT_CHUNK):
        product = variant.product
        attributes = variant.attributes if isinstance(variant.attributes, dict) else {}
        yield [
            variant.sku,
            product.name,
            product.brand,
            product.category.slug if product.category else "",
            _format_vat(product.vat_rate),
            str(variant.price_amount),
            variant.currency,
            BARCODE_SEPARATOR.join(barcode.code for barcode in variant.barcodes.all()),
            "yes" if variant.is_active else "no",
            *(_attribute_text(attributes.get(key)) for key in (*NAMED_ATTRIBUTES, *keys)),
        ]


def stock_csv_rows(*, location: Location | None = None) -> Iterator[list[str]]:
    """The stock file (every stock level, or one location's), header first: the import
    format. Streams the levels in chunks."""
    yield list(STOCK_COLUMNS)
    levels = StockLevel.objects.order_by("location__code", "variant__sku")
    if location is not None:
        levels = levels.filter(location=location)
    for sku, code, on_hand, safety in levels.values_list(
        "variant__sku", "location__code", "on_hand", "safety"
    ).iterator(chunk_size=EXPORT_CHUNK * 4):
        yield [sku, code, str(on_hand), str(safety)]


def _write_all(rows: Iterable[list[str]], write: Callable[[list[str]], object]) -> int:
    count = -1  # the header is not a row
    for row in rows:
        write(row)
        count += 1
    return count


def products_csv(*, write: Callable[[list[str]], object]) -> int:
    """Hand every line of the products file to ``write`` (e.g. ``csv.writer(f).writerow``);
    returns the number of data rows."""
    return _write_all(products_csv_rows(), write)


def stock_csv(*, write: Callable[[list[str]], object], location: Location | None = None) -> int:
    """Hand every line of the stock file to ``write``; returns the number of data rows."""
    return _write_all(stock_csv_rows(location=location), write)
