from django.contrib import admin
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from pos import admin_papers  # noqa: F401 (the invoices and an order's papers)
from pos.fiscal.integrity import journal_check_logged
from pos.models import (
    CashMove,
    JournalRecord,
    ReceiptPrint,
    Register,
    RegisterSession,
    SessionCount,
    StoreIdentity,
    ZReport,
)
from pos.receipts import store_identity_save


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location", "channel", "is_active"]
    list_filter = ["location", "is_active"]
    search_fields = ["code", "name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the till writes (sessions, cash, Z reports, receipt prints): the admin shows
    them, never changes them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StoreIdentity)
class StoreIdentityAdmin(admin.ModelAdmin):
    """What each store's receipts say about the seller (legal name, SIRET, VAT number)."""

    list_display = ["location", "legal_name", "siret", "vat_number", "updated_at"]
    search_fields = ["legal_name", "siret", "location__name"]
    autocomplete_fields = ["location"]

    def save_model(self, request, obj, form, change):
        store_identity_save(identity=obj, changed=form.changed_data, user=request.user)


@admin.register(ReceiptPrint)
class ReceiptPrintAdmin(ReadOnlyAdmin):
    """The log of printed receipts (originals and duplicates)."""

    list_display = ["order", "kind", "number", "register", "printed_by", "printed_at"]
    list_filter = ["kind", "register"]
    search_fields = ["order__id"]
    list_select_related = ["order", "register", "printed_by"]


class CashMoveInline(admin.TabularInline):
    model = CashMove
    fk_name = "session"
    extra = 0
    fields = ["created_at", "kind", "amount", "reason", "created_by", "approved_by", "reverses"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SessionCountInline(admin.TabularInline):
    model = SessionCount
    extra = 0
    fields = [
        "tender",
        "expected_amount",
        "counted_amount",
        "difference_amount",
        "blind",
        "approved_by",
        "comment",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RegisterSession)
class RegisterSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "register",
        "status",
        "opened_at",
        "opened_by",
        "opening_counted_amount",
        "opening_difference_amount",
        "closed_at",
        "closed_by",
    ]
    list_filter = ["status", "register__location", "register"]
    list_select_related = ["register__location", "opened_by", "closed_by"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RegisterSession._meta.fields]
    inlines = [CashMoveInline, SessionCountInline]


@admin.register(CashMove)
class CashMoveAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "session", "kind", "amount", "reason", "created_by"]
    list_filter = ["kind", "session__register"]
    list_select_related = ["session__register", "created_by"]
    search_fields = ["reason", "client_id"]
    readonly_fields = [f.name for f in CashMove._meta.fields]


@admin.register(ZReport)
class ZReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "session"]
    list_filter = ["session__register"]
    list_select_related = ["session__register"]
    readonly_fields = [f.name for f in ZReport._meta.fields]


@admin.register(JournalRecord)
class JournalRecordAdmin(ReadOnlyAdmin):
    """The fiscal journal, read only (the database refuses any change), and its check:
    *Verify the journal* walks every chain and names the first broken record of each; the
    check is logged in the technical events log."""

    list_display = ["chain", "number", "kind", "event_code", "reference", "occurred_at", "short"]
    list_filter = ["kind", "event_code", "chain__register"]
    search_fields = ["reference"]
    list_select_related = ["chain", "chain__register", "chain__store"]
    change_list_template = "admin/pos/journalrecord/change_list.html"

    @admin.display(description=_("hash"))
    def short(self, record) -> str:
        return record.hash[:16]

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_view)
        return [
            path("verify/", verify, name="pos_journalrecord_verify"),
            *super().get_urls(),
        ]

    def verify_view(self, request):
        if request.method != "POST" or not request.user.has_perm("pos.view_journalrecord"):
            return redirect("admin:pos_journalrecord_changelist")
        check, record = journal_check_logged()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Verification of the fiscal journal"),
            "check": check,
            "record": record,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/pos/journalrecord/verify.html", context)
