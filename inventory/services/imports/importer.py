"""The base of an importer: one kind of file, checked in full, then written."""

from __future__ import annotations

from abc import ABC, abstractmethod

from inventory.models import ImportJob
from inventory.services.imports.progress import ImportProgress
from inventory.services.imports.sheets import Sheet, row_error, row_values


def errors_sorted(errors: list[dict], columns: list[str]) -> list[dict]:
    order = {name: index for index, name in enumerate(columns)}
    return sorted(errors, key=lambda e: (e["row"] or 0, order.get(e["column"], -1)))


class Importer(ABC):
    """One kind of file: ``check`` returns every row error; ``write`` (only called when
    there is none, inside the transaction) returns the summary."""

    def __init__(self, *, job: ImportJob, sheet: Sheet, progress: ImportProgress) -> None:
        self.job = job
        self.sheet = sheet
        self.progress = progress
        self.user = job.created_by
        self.note = f"CSV import {job.filename}"
        self.current_row: int | None = None
        self.errors: list[dict] = []

    def error(self, row: int, column: str, value: str, message: str) -> None:
        self.errors.append(row_error(row, column, value, message))

    def rows(self) -> list[tuple[int, dict[str, str]]]:
        return [
            (number, row_values(self.sheet, number, cells, self.errors))
            for number, cells in self.sheet.rows
        ]

    @abstractmethod
    def check(self) -> list[dict]:
        """Every row error (phase 1); reads only."""

    @abstractmethod
    def write(self) -> dict[str, int]:
        """Write every row (phase 2); the summary."""
