"""An import job's life: created from an uploaded file (and queued), queued again, claimed
and run by a worker, and finished as done or failed with its row errors."""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.price_log import price_changes_batch
from inventory.exceptions import ImportFinished
from inventory.models import ImportJob
from inventory.services.imports.importer import Importer
from inventory.services.imports.products import ProductImport
from inventory.services.imports.progress import (
    CHECKING,
    FINISHED,
    PROGRESS_KEPT,
    WRITING,
    ImportProgress,
    progress_clear,
)
from inventory.services.imports.sheets import row_error, sheet_decode, sheet_read
from inventory.services.imports.stock_levels import StockLevelImport
from inventory.tasks import import_run_task
from unicommerce.exceptions import DomainError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

Kind = ImportJob.Kind
Status = ImportJob.Status
IMPORTERS: dict[str, type[Importer]] = {Kind.PRODUCTS: ProductImport, Kind.STOCK: StockLevelImport}
MAX_ERRORS = 5_000  # stored on the job; the summary keeps the full count


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
    text = sheet_decode(content)
    sheet = sheet_read(text=text, kind=kind)
    job = ImportJob.objects.create(
        kind=kind,
        status=Status.PENDING,
        filename=os.path.basename(filename.replace("\\", "/"))[:255] or "import.csv",
        content=text,
        total_rows=len(sheet.rows),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    progress_clear(job.pk)  # left by a job of an earlier database, same id
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
    progress = ImportProgress(job)
    progress.start(CHECKING)
    importer: Importer | None = None
    errors: list[dict] = []
    summary: dict[str, int] = {}
    try:
        with transaction.atomic():  # a savepoint: whatever fails below, nothing stays
            sheet = sheet_read(text=job.content, kind=job.kind)
            importer = IMPORTERS[job.kind](job=job, sheet=sheet, progress=progress)
            errors = importer.check()
            if not errors:
                progress.start(WRITING)
                # Price and VAT changes go to the legal log once for the whole import.
                with price_changes_batch(source=f"import:{job.pk}"):
                    summary = importer.write()
    except DomainError as error:
        row = importer.current_row if importer is not None else None
        errors = [row_error(row, "", "", error.message)]
    except Exception as error:  # a bug or the time limit: the job must not stay running
        logger.exception("import %s stopped", job.pk)
        errors = [
            row_error(
                importer.current_row if importer is not None else None,
                "",
                "",
                _("The import stopped on an unexpected error (%(error)s); nothing was written.")
                % {"error": type(error).__name__},
            )
        ]
    _job_finish(job, progress=progress, errors=errors, summary=summary)


def _job_finish(
    job: ImportJob, *, progress: ImportProgress, errors: list[dict], summary: dict[str, int]
) -> None:
    """Record how the job ended: done with its summary, or failed with its row errors."""
    job.status = Status.FAILED if errors else Status.DONE
    job.errors = errors[:MAX_ERRORS]
    job.summary = {"rows": job.total_rows, "errors": len(errors)} if errors else summary
    job.processed_rows = job.total_rows if not errors else progress.checked
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "summary", "processed_rows", "finished_at"])
    progress.publish(timeout=PROGRESS_KEPT)
