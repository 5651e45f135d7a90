"""Back-office for transfers between locations. Creating, editing the lines of a draft,
shipping, receiving, closing and cancelling all go through inventory.services.transfers;
a refusal is shown as a message or a form error, never a server error."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.exceptions import UnknownCode
from catalog.selectors import variant_by_code
from inventory.admin.counts import SEPARATORS
from inventory.admin.documents import DocumentAdmin, ReceiveLinesForm
from inventory.admin.forms_flow import (
    document_add_run,
    formset_lines_save,
    receipt_page,
    receipt_refused,
)
from inventory.admin.scoping import LocationScopedAdmin
from inventory.models import Location, Transfer, TransferLine
from inventory.services.transfers import (
    transfer_can,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_line_set,
    transfer_receive,
    transfer_receive_all,
    transfer_ship,
)
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError

# --------------------------------------------------------------------------- forms


def parse_lines(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Lines of "CODE", "CODE 3", "CODE*3" or "CODE;3" (a scanner or a pasted sheet):
    (variant_id, quantity) pairs, and a problem per line that could not be read. A code
    without a quantity counts one, so scanning an item three times gives three."""
    pairs, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = [p for p in SEPARATORS.split(raw.replace("*", " ")) if p]
        if not parts:
            continue
        quantity = _quantity(parts[1]) if len(parts) == 2 else 1
        if len(parts) > 2 or quantity is None:
            problems.append(
                _("Line %(number)s: write a code, then a whole number (“%(line)s”).")
                % {"number": number, "line": raw.strip()}
            )
            continue
        try:
            variant = variant_by_code(code=parts[0])
        except UnknownCode as error:
            problems.append(
                _("Line %(number)s: %(message)s") % {"number": number, "message": error.message}
            )
            continue
        pairs.append((variant.pk, quantity))
    return pairs, problems


MAX_LINE_QUANTITY = 1_000_000  # as the API's (inventory/api/transfers.py)


def _quantity(text: str) -> int | None:
    """A whole number in ASCII digits, at most ``MAX_LINE_QUANTITY`` either way: a
    negative or zero one is read, for the service to say why it is refused."""
    number = whole_number(text.removeprefix("-"), maximum=MAX_LINE_QUANTITY)
    if number is None:
        return None
    return -number if text.startswith("-") else number


def _active_places():
    return Location.objects.filter(is_active=True).exclude(kind=Location.Kind.TRANSIT)


class TransferNewForm(forms.Form):
    from_location = forms.ModelChoiceField(_active_places(), label=gettext_lazy("from"))
    to_location = forms.ModelChoiceField(_active_places(), label=gettext_lazy("to"))
    lines = forms.CharField(
        label=gettext_lazy("lines"),
        widget=forms.Textarea(attrs={"rows": 10, "autocomplete": "off"}),
        help_text=gettext_lazy(
            "One SKU or barcode per line, followed by the quantity (“TEE-NAVY-M 3” or "
            "“3760001234567*3”). Without a quantity each scan counts one."
        ),
    )
    note = forms.CharField(label=gettext_lazy("note"), max_length=255, required=False)

    def clean_lines(self) -> list[tuple[int, int]]:
        pairs, problems = parse_lines(self.cleaned_data["lines"])
        if problems:
            raise forms.ValidationError(problems)
        return pairs


class TransferLineForm(forms.ModelForm):
    quantity = forms.IntegerField(
        label=gettext_lazy("quantity"),
        min_value=1,
        help_text=gettext_lazy("Tick “Delete” to remove a line."),
    )

    class Meta:
        model = TransferLine
        fields = ["variant", "quantity"]


# --------------------------------------------------------------------------- admin


class TransferLineInline(admin.TabularInline):
    """Lines are edited while the transfer is a draft; afterwards they show what was
    shipped, received and lost."""

    model = TransferLine
    form = TransferLineForm
    extra = 0
    autocomplete_fields = ["variant"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def _draft(self, obj) -> bool:
        return obj is not None and transfer_can(obj, "edit")

    def get_fields(self, request, obj=None):
        if self._draft(obj):
            return ["variant", "quantity"]
        return ["variant", "quantity", "quantity_received", "discrepancy"]

    def get_readonly_fields(self, request, obj=None):
        return (
            [] if self._draft(obj) else ["variant", "quantity", "quantity_received", "discrepancy"]
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(Transfer)
class TransferAdmin(LocationScopedAdmin, DocumentAdmin):
    scope_location_fields = ("from_location", "to_location")

    list_display = [
        "reference",
        "status",
        "from_location",
        "to_location",
        "created_at",
        "shipped_at",
        "received_at",
    ]
    list_filter = ["status", "from_location", "to_location", "created_at", "shipped_at"]
    search_fields = ["lines__variant__sku", "lines__variant__barcodes__code", "note"]
    list_select_related = ["from_location", "to_location"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "status",
        "from_location",
        "to_location",
        "note",
        "created_at",
        "created_by",
        "shipped_at",
        "received_at",
    ]
    readonly_fields = fields
    inlines = [TransferLineInline]
    actions = ["ship_transfers", "receive_transfers", "close_transfers", "cancel_transfers"]
    document_argument = "transfer"
    transitions = {
        "ship": transfer_ship,
        "receive_all": transfer_receive_all,
        "close": transfer_close,
        "cancel": transfer_cancel,
    }

    @admin.display(description=gettext_lazy("reference"), ordering="id")
    def reference(self, transfer: Transfer) -> str:
        return str(transfer)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # ledger rows point at shipped transfers; a draft is cancelled

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_location", "to_location")

    def get_urls(self):
        return [*self.document_urls(receive=self.receive_view), *super().get_urls()]

    # -- pages

    def add_view(self, request, form_url="", extra_context=None):
        """A new draft: locations and lines typed or scanned in one go."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TransferNewForm(request.POST or None)
        drafted = document_add_run(
            self,
            request,
            form,
            lambda data: transfer_create(
                from_location=data["from_location"],
                to_location=data["to_location"],
                lines=data["lines"],
                user=request.user,
                note=data["note"],
            ),
            message=lambda transfer: _("%(reference)s drafted.") % {"reference": transfer},
            url=lambda transfer: self.document_url("change", transfer),
        )
        if drafted is not None:
            return drafted
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("New transfer"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/inventory/transfer/new.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        transfer = self.get_object(request, object_id)
        extra = {"show_save_and_add_another": False, "show_delete": False}
        if transfer is not None:
            draft = transfer_can(transfer, "edit")
            extra |= {
                "show_save": draft,
                "show_save_and_continue": draft,
                "transfer_actions": self._actions_for(request, transfer),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _actions_for(self, request, transfer: Transfer) -> list[tuple[str, str, str, str]]:
        """(url, label, method, confirmation question) of what can be done now."""
        if not self.has_change_permission(request, transfer):
            return []
        actions = []
        if transfer_can(transfer, "ship"):
            actions.append(
                (self.document_url("transition", transfer, "ship"), _("Ship"), "post", "")
            )
        if transfer_can(transfer, "receive"):
            actions += [
                (self.document_url("receive", transfer), _("Receive…"), "get", ""),
                (
                    self.document_url("transition", transfer, "receive_all"),
                    _("Receive everything outstanding"),
                    "post",
                    "",
                ),
            ]
        if transfer_can(transfer, "close"):
            actions.append(
                (
                    self.document_url("transition", transfer, "close"),
                    _("Close with discrepancy"),
                    "post",
                    _("The units not received yet will be written off as lost. Close?"),
                )
            )
        if transfer_can(transfer, "cancel"):
            actions.append(
                (
                    self.document_url("transition", transfer, "cancel"),
                    _("Cancel"),
                    "post",
                    _("Cancel this draft?"),
                )
            )
        return actions

    def save_model(self, request, obj, form, change):
        """The transfer's own fields are not edited here; its draft lines are, through
        save_formset."""

    def save_formset(self, request, form, formset, change):
        """Each changed line goes through transfer_line_set (draft only, 0 removes)."""
        transfer = form.instance

        def line_set(variant_id: int, data: dict | None) -> TransferLine:
            return transfer_line_set(
                transfer=transfer,
                variant_id=variant_id,
                quantity=0 if data is None else data["quantity"],
                user=request.user,
            )

        try:
            formset_lines_save(formset, line_set=line_set)
        except DomainError as error:
            messages.error(request, error.message)

    def receive_view(self, request, object_id: str):
        """A partial (or full) receipt: one quantity per line still expected."""
        transfer = self.document_for(request, object_id)
        if not transfer_can(transfer, "receive"):
            return receipt_refused(
                self,
                request,
                transfer,
                message=_("%(reference)s is %(status)s: there is nothing to receive.")
                % {"reference": transfer, "status": transfer.get_status_display()},
            )
        lines = list(transfer.lines.select_related("variant__product"))
        form = ReceiveLinesForm(
            request.POST or None, lines=lines, expected=lambda line: line.quantity
        )
        return receipt_page(
            self,
            request,
            transfer,
            form=form,
            receive=lambda _data: transfer_receive(
                transfer=transfer, quantities=form.quantities(), user=request.user
            ),
            message=lambda done: (
                _("%(reference)s: receipt recorded, now %(status)s.")
                % {"reference": done, "status": done.get_status_display()}
            ),
            title=lambda: (
                _("Receive %(reference)s at %(location)s")
                % {"reference": transfer, "location": transfer.to_location}
            ),
            template="admin/inventory/transfer/receive.html",
        )

    # -- list actions

    @admin.action(description=gettext_lazy("Ship the selected transfers"))
    def ship_transfers(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), transfer_ship)

    @admin.action(description=gettext_lazy("Receive everything outstanding"))
    def receive_transfers(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), transfer_receive_all)

    @admin.action(description=gettext_lazy("Close with discrepancy"))
    def close_transfers(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), transfer_close)

    @admin.action(description=gettext_lazy("Cancel the selected drafts"))
    def cancel_transfers(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), transfer_cancel)
