"""Back-office for CSV imports and exports: upload a file, watch it run, read its row
errors; download the products or the stock levels in the same format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import ImportJob, Location
from inventory.services.imports.exports import products_csv_rows, stock_csv_rows
from inventory.services.imports.jobs import import_job_create, import_job_enqueue
from inventory.services.imports.progress import import_progress
from inventory.services.imports.sheets import COLUMNS, REQUIRED
from unicommerce.exceptions import DomainError
from unicommerce.spreadsheets import SpreadsheetWriter

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ERRORS_SHOWN = 500
STREAM_BATCH = 200  # CSV lines per chunk of a download
# What a user needs, on top of inventory.add_importjob, to import each kind of file.
KIND_PERMISSIONS = {
    ImportJob.Kind.PRODUCTS: "catalog.change_variant",
    ImportJob.Kind.STOCK: "inventory.change_stocklevel",
}
EXPORT_PRODUCTS_PERMISSION = "catalog.view_variant"
EXPORT_STOCK_PERMISSION = "inventory.view_stocklevel"
SUMMARY_LABELS = {
    "rows": _("rows in the file"),
    "created": _("created"),
    "updated": _("updated"),
    "unchanged": _("unchanged"),
    "products_created": _("products created"),
    "products_updated": _("products updated"),
    "ledger_rows": _("stock ledger rows written"),
}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by commas or semicolons, with a header line."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s MB: split it into smaller files."),
                params={"size": MAX_UPLOAD_BYTES // (1024 * 1024)},
            )
        return upload


class _Echo:
    """A file-like object whose write returns the line, for a CSV writer in a stream."""

    def write(self, value: str) -> str:
        return value


def csv_download(rows: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    """Stream rows as a UTF-8 CSV file (with a byte-order mark, so spreadsheets read the
    accents right), a batch of lines at a time: never the whole file in memory."""
    writer = SpreadsheetWriter(_Echo())  # a cell a spreadsheet would run gets a quote

    def lines() -> Iterator[str]:
        batch = ["\ufeff"]
        for row in rows:
            batch.append(writer.writerow(row))
            if len(batch) >= STREAM_BATCH:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports are made by uploading a file and changed only by their worker: the pages
    show them, never edit them."""

    list_display = [
        "created_at",
        "kind",
        "filename",
        "status",
        "rows",
        "error_count",
        "created_by",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["filename"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "filename",
        "status",
        "total_rows",
        "processed_rows",
        "created_by",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    actions = ["queue_again"]

    # ----------------------------------------------------------------- permissions

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content", "errors")

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the upload page creates imports

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_upload_permission(self, request) -> bool:
        return request.user.has_perm("inventory.add_importjob")

    # ----------------------------------------------------------------- list

    @admin.display(description=_("rows"), ordering="total_rows")
    def rows(self, job: ImportJob) -> int:
        return job.total_rows

    @admin.display(description=_("errors"))
    def error_count(self, job: ImportJob) -> int:
        return job.summary.get("errors", 0) if job.status == ImportJob.Status.FAILED else 0

    @admin.action(description=_("Queue the selected waiting imports again"), permissions=["upload"])
    def queue_again(self, request, queryset) -> None:
        queued = 0
        for job in queryset:
            try:
                import_job_enqueue(job=job)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                queued += 1
        if queued:
            messages.success(
                request, gettext("%(count)s imports queued again.") % {"count": queued}
            )

    def changelist_view(self, request, extra_context=None):
        user = request.user
        extra = {
            "can_upload": self.has_upload_permission(request),
            "can_export_products": user.has_perm(EXPORT_PRODUCTS_PERMISSION),
            "can_export_stock": user.has_perm(EXPORT_STOCK_PERMISSION),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    # ----------------------------------------------------------------- the job page

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="inventory_importjob_upload"),
            path(
                "export/products/",
                view(self.export_products_view),
                name="inventory_importjob_export_products",
            ),
            path(
                "export/stock/",
                view(self.export_stock_view),
                name="inventory_importjob_export_stock",
            ),
            path(
                "<int:object_id>/progress/",
                view(self.progress_view),
                name="inventory_importjob_progress",
            ),
            path(
                "<int:object_id>/errors.csv",
                view(self.errors_view),
                name="inventory_importjob_errors",
            ),
            path("<int:object_id>/file.csv", view(self.file_view), name="inventory_importjob_file"),
            *super().get_urls(),
        ]

    def _job(self, request: HttpRequest, object_id) -> ImportJob:
        job = get_object_or_404(ImportJob, pk=unquote(str(object_id)))
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return job

    def progress_context(self, job: ImportJob) -> dict:
        progress = import_progress(job=job)
        errors = job.errors if progress["finished"] else []
        error_total = job.summary.get("errors", len(errors))
        return {
            "job": job,
            "progress": progress,
            "is_done": job.status == ImportJob.Status.DONE,
            "is_failed": job.status == ImportJob.Status.FAILED,
            "row_errors": errors[:ERRORS_SHOWN],
            "error_total": error_total,
            "errors_hidden": max(error_total - min(len(errors), ERRORS_SHOWN), 0),
            "summary": [
                (SUMMARY_LABELS.get(key, key), value) for key, value in job.summary.items()
            ],
            "progress_url": reverse("admin:inventory_importjob_progress", args=[job.pk]),
            "errors_url": reverse("admin:inventory_importjob_errors", args=[job.pk]),
            "file_url": reverse("admin:inventory_importjob_file", args=[job.pk]),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        extra = self.progress_context(job) if job is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def progress_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The progress partial that the job page polls every second (the whole page
        without htmx). Once the job is over it carries no polling any more."""
        job = self._job(request, object_id)
        context = self.progress_context(job)
        if request.htmx:
            response = TemplateResponse(
                request, "admin/inventory/importjob/_progress.html", context
            )
            if context["progress"]["finished"]:
                # Only a page watching a running job polls: it ended, reload the page so
                # every figure on it is final.
                response["HX-Refresh"] = "true"
            return response
        context.update(
            self.admin_site.each_context(request),
            opts=self.opts,
            title=str(job),
            original=job,
        )
        return TemplateResponse(request, "admin/inventory/importjob/progress.html", context)

    def errors_view(self, request: HttpRequest, object_id: int) -> StreamingHttpResponse:
        job = self._job(request, object_id)
        rows = [["row", "column", "value", "message"]] + [
            [str(e.get("row") or ""), e.get("column", ""), e.get("value", ""), e.get("message")]
            for e in job.errors
        ]
        return csv_download(rows, f"import-{job.pk}-errors.csv")

    def file_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        job = self._job(request, object_id)
        response = HttpResponse(job.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}.csv"'
        return response

    # ----------------------------------------------------------------- upload

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            kind = form.cleaned_data["kind"]
            upload = form.cleaned_data["file"]
            if not request.user.has_perm(KIND_PERMISSIONS[kind]):
                form.add_error("kind", _("You may not import this kind of file."))
            else:
                try:
                    job = import_job_create(
                        kind=kind, filename=upload.name, content=upload.read(), user=request.user
                    )
                except DomainError as error:
                    form.add_error("file", error.message)
                else:
                    messages.success(
                        request, _("The file is queued for import; this page shows its progress.")
                    )
                    return HttpResponseRedirect(
                        reverse("admin:inventory_importjob_change", args=[job.pk])
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import a CSV file"),
            "form": form,
            "columns": [
                (
                    ImportJob.Kind(kind).label,
                    REQUIRED[kind],
                    [c for c in COLUMNS[kind] if c not in REQUIRED[kind]],
                )
                for kind in ImportJob.Kind.values
            ],
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/inventory/importjob/upload.html", context)

    # ----------------------------------------------------------------- exports

    def export_products_view(self, request: HttpRequest) -> StreamingHttpResponse:
        if not request.user.has_perm(EXPORT_PRODUCTS_PERMISSION):
            raise PermissionDenied
        return csv_download(products_csv_rows(), f"products-{_stamp()}.csv")

    def export_stock_view(self, request: HttpRequest) -> StreamingHttpResponse:
        if not request.user.has_perm(EXPORT_STOCK_PERMISSION):
            raise PermissionDenied
        location = None
        code = request.GET.get("location", "")
        if code:
            location = get_object_or_404(Location, code=code)
        suffix = f"{location.code}-" if location else ""
        return csv_download(stock_csv_rows(location=location), f"stock-{suffix}{_stamp()}.csv")
