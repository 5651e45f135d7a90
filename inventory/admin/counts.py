"""Back-office for stock counts: start a count, count with a barcode scanner, read the
variance report, post it. Every change goes through inventory.services.counts."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.exceptions import UnknownCode
from catalog.models import Variant
from catalog.selectors import variant_by_code
from inventory.admin.documents import DocumentAdmin
from inventory.admin.forms_flow import document_add_run, form_service_run
from inventory.admin.scoping import LocationScopedAdmin
from inventory.models import Location, StockCount, StockCountLine
from inventory.services.counts import (
    count_can,
    count_cancel,
    count_post,
    count_record,
    count_start,
    count_variance,
)
from unicommerce.converters import whole_number

SEPARATORS = re.compile(r"[\s,;]+")


def split_scan(text: str) -> tuple[str, int | None]:
    """``"CODE"`` → (CODE, None); ``"CODE*12"`` → (CODE, 12). Raises ValueError when the
    part after ``*`` is not a whole number."""
    code, star, quantity = text.strip().partition("*")
    if not star:
        return code.strip(), None
    quantity = quantity.strip()
    if not re.fullmatch(r"-?\d+", quantity):
        raise ValueError(quantity)
    return code.strip(), int(quantity)


def variants_from_codes(text: str) -> tuple[list[Variant], list[str]]:
    """The variants named by SKUs or barcodes (separated by spaces, commas or new lines),
    and the codes that name none."""
    variants, unknown = [], []
    for code in filter(None, SEPARATORS.split(text)):
        try:
            variants.append(variant_by_code(code=code))
        except UnknownCode:
            unknown.append(code)
    return variants, unknown


# --------------------------------------------------------------------------- forms


class CountStartForm(forms.Form):
    location = forms.ModelChoiceField(
        Location.objects.filter(is_active=True), label=gettext_lazy("location")
    )
    kind = forms.ChoiceField(choices=StockCount.Kind.choices, label=gettext_lazy("kind"))
    codes = forms.CharField(
        label=gettext_lazy("products to count"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text=gettext_lazy(
            "Cycle count only: the SKUs or barcodes to count, one per line (scan them). "
            "A full count covers every product the location has a stock level for."
        ),
    )
    note = forms.CharField(label=gettext_lazy("note"), max_length=255, required=False)

    def clean_codes(self) -> list[int]:
        variants, unknown = variants_from_codes(self.cleaned_data["codes"])
        if unknown:
            raise forms.ValidationError(
                _("No product has the barcode or SKU %(codes)s.")
                % {"codes": ", ".join(f"“{code}”" for code in unknown)}
            )
        return [variant.pk for variant in variants]


class ScanForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Scan or type a barcode or SKU"),
        max_length=100,
        error_messages={"required": gettext_lazy("Scan a barcode or type a SKU.")},
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "enterkeyhint": "enter"}
        ),
        help_text=gettext_lazy("Each scan adds one. Type CODE*12 to set the count to 12."),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("set the count to"),
        required=False,
        help_text=gettext_lazy("Optional: the number counted, instead of one per scan."),
    )

    def clean(self):
        data = super().clean()
        if "code" in data:
            try:
                data["code"], starred = split_scan(data["code"])
            except ValueError:
                raise forms.ValidationError(
                    _("After * type the number counted, e.g. %(example)s.")
                    % {"example": "3760001234567*12"}
                ) from None
            if starred is not None:
                data["quantity"] = starred
            if not data["code"]:
                raise forms.ValidationError(_("Scan a barcode or type a SKU."))
        return data


# --------------------------------------------------------------------------- admin


class StockCountLineInline(admin.TabularInline):
    model = StockCountLine
    extra = 0
    can_delete = False
    fields = ["variant", "expected", "counted", "variance"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("lines (expected = the books when the count started)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("variance"))
    def variance(self, line: StockCountLine):
        return "—" if line.variance is None else f"{line.variance:+d}"


@admin.register(StockCount)
class StockCountAdmin(LocationScopedAdmin, DocumentAdmin):
    list_display = [
        "reference",
        "location",
        "kind",
        "status",
        "created_at",
        "posted_at",
        "accuracy",
    ]
    list_filter = ["status", "kind", "location", "created_at"]
    search_fields = ["lines__variant__sku", "lines__variant__barcodes__code", "note"]
    list_select_related = ["location"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "location",
        "kind",
        "status",
        "note",
        "created_at",
        "created_by",
        "posted_at",
        "posted_by",
        "accuracy",
    ]
    readonly_fields = fields
    inlines = [StockCountLineInline]
    actions = ["post_counts", "cancel_counts"]
    document_argument = "count"
    transitions = {"post": count_post, "cancel": count_cancel}

    @admin.display(description=gettext_lazy("reference"), ordering="id")
    def reference(self, count: StockCount) -> str:
        return str(count)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger rows of a posted count point at it

    def save_model(self, request, obj, form, change):
        """Nothing on the page is edited directly: counting and posting are services."""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    def get_urls(self):
        return [
            *self.document_urls(scan=self.scan_view, variance=self.variance_view),
            *super().get_urls(),
        ]

    # -- pages

    def _context(self, request, count: StockCount | None, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": count,
            "count": count,
            "title": title,
            "has_view_permission": self.has_view_permission(request, count),
            **extra,
        }

    def add_view(self, request, form_url="", extra_context=None):
        """The "start a count" page: count_start takes the snapshot, then the scanner page
        opens."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CountStartForm(request.POST or None)
        started = document_add_run(
            self,
            request,
            form,
            lambda data: count_start(
                location=data["location"],
                kind=data["kind"],
                variant_ids=data["codes"],
                user=request.user,
                note=data["note"],
            ),
            message=lambda count: (
                _("%(reference)s started: %(lines)s products to count.")
                % {"reference": count, "lines": count.lines.count()}
            ),
            url=lambda count: self.document_url("scan", count),
        )
        if started is not None:
            return started
        context = self._context(request, None, _("Start a stock count"), form=form)
        return TemplateResponse(request, "admin/inventory/stockcount/start.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        count = self.get_object(request, object_id)
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        if count is not None:
            extra["count_actions"] = self._actions_for(request, count)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _actions_for(self, request, count: StockCount) -> list[tuple[str, str, str]]:
        """(url, label, confirmation question) of what can be done now."""
        if not self.has_change_permission(request, count):
            return []
        actions = {
            "post": (
                _("Post the variance"),
                _("The differences will be written to the stock ledger. Post?"),
            ),
            "cancel": (_("Cancel the count"), _("Cancel this count? Nothing will be posted.")),
        }
        return [
            (self.document_url("transition", count, action), label, question)
            for action, (label, question) in actions.items()
            if count_can(count, action)
        ]

    def scan_view(self, request, object_id: str):
        """The scanner page: an autofocused field; Enter after a code adds one."""
        count = self.document_for(request, object_id, change=request.method == "POST")
        form = ScanForm(request.POST or None)
        line = form_service_run(
            request,
            form,
            lambda data: count_record(
                count=count, code=data["code"], quantity=data["quantity"], user=request.user
            ),
            error_field="code",
        )
        if line is not None:
            return HttpResponseRedirect(self.document_url("scan", count, last=line.variant_id))
        lines = list(count.lines.select_related("variant__product").order_by("variant__sku"))
        last = None
        last_id = whole_number(request.GET.get("last", ""))
        if last_id is not None:
            last = next((ln for ln in lines if ln.variant_id == last_id), None)
        context = self._context(
            request,
            count,
            _("Count %(reference)s at %(location)s")
            % {"reference": count, "location": count.location},
            form=form,
            lines=lines,
            last=last,
            counted_lines=sum(1 for line in lines if line.counted is not None),
            can_record=count_can(count, "record"),
            count_actions=self._actions_for(request, count),
            variance_url=self.document_url("variance", count),
        )
        return TemplateResponse(request, "admin/inventory/stockcount/scan.html", context)

    def variance_view(self, request, object_id: str):
        count = self.document_for(request, object_id, change=False)
        rows = count_variance(count=count)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            if row.value is not None:
                totals[row.currency] += row.value
        context = self._context(
            request,
            count,
            _("Variance report of %(reference)s") % {"reference": count},
            rows=rows,
            units=sum(row.variance or 0 for row in rows),
            totals=sorted(totals.items()),
            differences=sum(1 for row in rows if row.variance),
            count_actions=self._actions_for(request, count),
            scan_url=self.document_url("scan", count),
        )
        return TemplateResponse(request, "admin/inventory/stockcount/variance.html", context)

    def transition_message(self, count: StockCount) -> str:
        if count.status == StockCount.Status.POSTED:
            return _("%(reference)s posted; accuracy %(accuracy)s %%.") % {
                "reference": count,
                "accuracy": count.accuracy,
            }
        return _("%(reference)s cancelled.") % {"reference": count}

    # -- list actions

    @admin.action(description=gettext_lazy("Post the variance of the selected counts"))
    def post_counts(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), count_post)

    @admin.action(description=gettext_lazy("Cancel the selected counts"))
    def cancel_counts(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), count_cancel)
