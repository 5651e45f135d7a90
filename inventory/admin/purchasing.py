"""Back-office for suppliers, purchase orders and replenishment.

Purchase orders change only through inventory.services.purchasing (create, draft lines,
send, receive, cancel); a refusal is shown as a form error or a message and changes
nothing, never a server error. Stock alerts are read-only: the replenishment check
raises and resolves them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, DecimalField, Exists, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory.admin.documents import DocumentAdmin, ReceiveWithNoteForm
from inventory.admin.forms_flow import (
    formset_lines_save,
    receipt_page,
    receipt_refused,
)
from inventory.admin.scoping import LocationScopedAdmin
from inventory.exceptions import DraftPurchaseOrderExists, VariantNotSoldBySupplier
from inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    ReplenishmentRule,
    StockAlert,
    Supplier,
    SupplierItem,
)
from inventory.services.purchasing import (
    TRANSITIONS,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_set,
    purchase_order_note_set,
    purchase_order_receive,
    purchase_order_receive_outstanding,
    purchase_order_send,
)
from inventory.services.replenishment import replenishment_check
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

Status = PurchaseOrder.Status

# --------------------------------------------------------------------------- suppliers


class SupplierItemInline(admin.TabularInline):
    model = SupplierItem
    extra = 1
    fields = ["variant", "supplier_sku", "unit_cost_amount", "currency", "is_preferred"]
    autocomplete_fields = ["variant"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "email", "phone", "lead_time_days", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "email"]
    inlines = [SupplierItemInline]


@admin.register(SupplierItem)
class SupplierItemAdmin(admin.ModelAdmin):
    list_display = [
        "variant",
        "supplier",
        "supplier_sku",
        "unit_cost_amount",
        "currency",
        "is_preferred",
    ]
    list_filter = ["is_preferred", "supplier"]
    search_fields = ["variant__sku", "variant__product__name", "supplier_sku", "supplier__name"]
    list_select_related = ["variant__product", "supplier"]
    autocomplete_fields = ["variant", "supplier"]


# --------------------------------------------------------------------------- replenishment


@admin.register(ReplenishmentRule)
class ReplenishmentRuleAdmin(LocationScopedAdmin, admin.ModelAdmin):
    list_display = [
        "variant",
        "location",
        "minimum",
        "maximum",
        "supplier",
        "is_active",
        "has_open_alert",
    ]
    list_filter = ["location", "is_active", "supplier"]
    search_fields = ["variant__sku", "variant__barcodes__code", "variant__product__name"]
    list_select_related = ["variant__product", "location", "supplier"]
    autocomplete_fields = ["variant", "supplier"]
    fields = ["variant", "location", "minimum", "maximum", "supplier", "is_active"]

    def get_queryset(self, request):
        open_alerts = StockAlert.objects.filter(rule=OuterRef("pk"), resolved_at__isnull=True)
        return super().get_queryset(request).annotate(open_alert=Exists(open_alerts))

    @admin.display(description=gettext_lazy("low stock"), boolean=True, ordering="open_alert")
    def has_open_alert(self, rule: ReplenishmentRule) -> bool:
        return rule.open_alert

    def save_model(self, request, obj, form, change):
        """Saved as is (single-row rules are constraints), then checked at once, so a
        rule already below its minimum raises its alert without waiting for a sale."""
        super().save_model(request, obj, form, change)
        if replenishment_check(variant_ids=[obj.variant_id], location_ids=[obj.location_id]):
            messages.warning(
                request,
                _("%(variant)s is already below its minimum at %(location)s: alert raised.")
                % {"variant": obj.variant, "location": obj.location},
            )


class AlertStatusFilter(admin.SimpleListFilter):
    """Open alerts unless asked otherwise: the list is where buyers find low stock."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("open", gettext_lazy("open")),
            ("resolved", gettext_lazy("resolved")),
            ("all", gettext_lazy("all")),
        ]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(StockAlert)
class StockAlertAdmin(LocationScopedAdmin, admin.ModelAdmin):
    scope_location_fields = ("rule__location", "location")

    """Low stock against the replenishment rules, raised and resolved by the check; and
    stock below zero after a sale not in the books (inventory.services.unbooked), raised
    by the sale and resolved when the level is back at zero or above (a count)."""

    list_display = [
        "created_at",
        "kind",
        "variant",
        "location",
        "available",
        "minimum",
        "maximum",
        "order_link",
        "note",
        "resolved_at",
    ]
    list_filter = [AlertStatusFilter, "kind", "rule__location", "location", "rule__supplier"]
    search_fields = [
        "rule__variant__sku",
        "rule__variant__product__name",
        "variant__sku",
        "variant__product__name",
        "note",
    ]
    list_select_related = [
        "rule__variant__product",
        "rule__location",
        "variant__product",
        "location",
        "purchase_order__supplier",
    ]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "variant",
        "location",
        "minimum",
        "maximum",
        "available",
        "order_link",
        "note",
        "created_at",
        "resolved_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Low stock alerts"), **(extra_context or {})}
        )

    @admin.display(description=gettext_lazy("variant"), ordering="rule__variant__sku")
    def variant(self, alert: StockAlert):
        return alert.rule.variant if alert.rule_id else alert.variant

    @admin.display(description=gettext_lazy("location"), ordering="rule__location__name")
    def location(self, alert: StockAlert):
        return alert.rule.location if alert.rule_id else alert.location

    @admin.display(description=gettext_lazy("minimum"))
    def minimum(self, alert: StockAlert) -> int | str:
        return alert.rule.minimum if alert.rule_id else "—"

    @admin.display(description=gettext_lazy("maximum"))
    def maximum(self, alert: StockAlert) -> int | str:
        return alert.rule.maximum if alert.rule_id else "—"

    @admin.display(description=gettext_lazy("purchase order"), ordering="purchase_order_id")
    def order_link(self, alert: StockAlert) -> str:
        order = alert.purchase_order
        if order is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a> ({}, {})',
            reverse("admin:inventory_purchaseorder_change", args=[order.pk]),
            order,
            order.supplier,
            order.get_status_display(),
        )


# --------------------------------------------------------------------------- purchase orders


class PurchaseOrderForm(forms.ModelForm):
    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "location", "note"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "supplier" in self.fields:
            self.fields["supplier"].queryset = Supplier.objects.filter(is_active=True)
        if "location" in self.fields:
            self.fields["location"].queryset = Location.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        supplier, location = data.get("supplier"), data.get("location")
        if self.instance.pk is None and supplier and location:
            existing = (
                PurchaseOrder.objects.select_related("supplier", "location")
                .filter(supplier=supplier, location=location, status=Status.DRAFT)
                .first()
            )
            if existing is not None:
                raise ValidationError(DraftPurchaseOrderExists(existing).message)
        return data


class PurchaseOrderLineForm(forms.ModelForm):
    quantity_ordered = forms.IntegerField(label=gettext_lazy("ordered"), min_value=1)
    unit_cost_amount = forms.DecimalField(
        label=gettext_lazy("unit cost excl. VAT"),
        required=False,
        min_value=0,
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=gettext_lazy("Empty: the supplier's price."),
    )

    class Meta:
        model = PurchaseOrderLine
        fields = ["variant", "quantity_ordered", "unit_cost_amount"]


class PurchaseOrderLineFormSet(forms.BaseInlineFormSet):
    """At least one line on a new order; a cost for what the supplier does not sell."""

    def live_forms(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("variant")
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        live = self.live_forms()
        if self.instance.pk is None and not live:
            raise ValidationError(_("A purchase order needs at least one line."))
        if not self.instance.supplier_id:
            return
        supplier = Supplier.objects.get(pk=self.instance.supplier_id)
        priced = set(
            SupplierItem.objects.filter(
                supplier=supplier, variant__in=[f.cleaned_data["variant"] for f in live]
            ).values_list("variant_id", flat=True)
        )
        for form in live:
            variant = form.cleaned_data["variant"]
            keeps_its_cost = form.instance.pk and form.instance.variant_id == variant.pk
            costless = form.cleaned_data.get("unit_cost_amount") is None and not keeps_its_cost
            if costless and variant.pk not in priced:
                message = VariantNotSoldBySupplier(sku=variant.sku, supplier=supplier).message
                form.add_error("unit_cost_amount", message)


def _is_draft(order: PurchaseOrder | None) -> bool:
    return order is None or order.status == Status.DRAFT


class PurchaseOrderLineInline(admin.TabularInline):
    """The lines of a draft (or of a new order), edited through the services."""

    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    formset = PurchaseOrderLineFormSet
    fields = ["variant", "quantity_ordered", "unit_cost_amount"]
    autocomplete_fields = ["variant"]

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 3 if obj is None else 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")


class PurchaseOrderLineReadOnlyInline(admin.TabularInline):
    """The lines of a sent order: what was ordered, what came, what is still expected."""

    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    fields = [
        "variant",
        "quantity_ordered",
        "quantity_received",
        "outstanding",
        "unit_cost_amount",
        "line_total",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("still expected"))
    def outstanding(self, line: PurchaseOrderLine) -> int:
        return line.quantity_ordered - line.quantity_received

    @admin.display(description=gettext_lazy("line total"))
    def line_total(self, line: PurchaseOrderLine):
        return line.quantity_ordered * line.unit_cost_amount


ORDER_ACTIONS = {
    "send": purchase_order_send,
    "receive_all": purchase_order_receive_outstanding,
    "cancel": purchase_order_cancel,
}


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(LocationScopedAdmin, DocumentAdmin):
    form = PurchaseOrderForm
    list_display = [
        "reference",
        "supplier",
        "location",
        "status",
        "line_count",
        "total",
        "created_at",
        "sent_at",
        "expected_on",
        "received_at",
    ]
    list_filter = ["status", "supplier", "location", "created_at", "expected_on"]
    search_fields = ["supplier__name", "supplier__code", "lines__variant__sku", "note"]
    list_select_related = ["supplier", "location"]
    date_hierarchy = "created_at"
    actions = ["send_orders", "receive_orders", "cancel_orders"]
    document_argument = "order"
    transitions = ORDER_ACTIONS

    def get_queryset(self, request):
        lines = PurchaseOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
        money = DecimalField(max_digits=MAX_DIGITS + 6, decimal_places=DECIMAL_PLACES)
        return (
            super()
            .get_queryset(request)
            .annotate(
                line_total=Coalesce(
                    Subquery(
                        lines.annotate(
                            t=Sum(F("quantity_ordered") * F("unit_cost_amount"), output_field=money)
                        ).values("t"),
                        output_field=money,
                    ),
                    0,
                    output_field=money,
                ),
                lines_count=Coalesce(
                    Subquery(
                        lines.annotate(n=Count("pk")).values("n"),
                        output_field=IntegerField(),
                    ),
                    0,
                ),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        """ "PO000012" (or "12") finds that order, besides supplier, SKU and note."""
        results, duplicates = super().get_search_results(request, queryset, search_term)
        number = whole_number(search_term.strip().upper().removeprefix("PO"), minimum=1)
        if number is not None:
            results = results | queryset.filter(pk=number)
        return results, duplicates

    # -- columns and fields

    @admin.display(description=gettext_lazy("reference"), ordering="id")
    def reference(self, order: PurchaseOrder) -> str:
        return str(order)

    @admin.display(description=gettext_lazy("lines"), ordering="lines_count")
    def line_count(self, order: PurchaseOrder) -> int:
        return order.lines_count

    @admin.display(description=gettext_lazy("total excl. VAT"), ordering="line_total")
    def total(self, order: PurchaseOrder) -> str:
        return f"{order.line_total} {order.currency}"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["supplier", "location", "note"]
        return [
            "reference",
            "supplier",
            "location",
            "status",
            "note",
            "total",
            "created_at",
            "created_by",
            "sent_at",
            "expected_on",
            "received_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f for f in self.get_fields(request, obj) if f != "note"]

    def get_inlines(self, request, obj):
        return [PurchaseOrderLineInline] if _is_draft(obj) else [PurchaseOrderLineReadOnlyInline]

    def has_change_permission(self, request, obj=None) -> bool:
        """Only a draft is edited in the form; a sent order changes through its actions."""
        return super().has_change_permission(request, obj) and _is_draft(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger points at received orders; a draft is cancelled

    # -- saving through the services

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A service refusing the save (a race the forms could not see) rolls the whole
        save back: show its message instead of a server error."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())

    def response_post_save_add(self, request, obj):
        """To the new draft, where it can be checked and sent."""
        return HttpResponseRedirect(self.document_url("change", obj))

    def save_model(self, request, obj, form, change):
        """A new order is created with its lines in save_related; an existing one only
        has its note changed here."""
        if change and "note" in form.changed_data:
            purchase_order_note_set(order=obj, note=form.cleaned_data["note"])

    def save_related(self, request, form, formsets, change):
        if change:
            for formset in formsets:
                self.save_formset(request, form, formset, change)
            return
        [formset] = [f for f in formsets if f.model is PurchaseOrderLine]
        lines = []
        for line_form in formset.live_forms():
            data = line_form.cleaned_data
            cost = data.get("unit_cost_amount")
            line = (data["variant"].pk, data["quantity_ordered"])
            lines.append(line if cost is None else (*line, cost))
        data = form.cleaned_data
        order = purchase_order_create(
            supplier=data["supplier"],
            location=data["location"],
            lines=lines,
            user=request.user,
            note=data["note"],
        )
        form.instance.pk = order.pk
        form.instance._state.adding = False
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            list(order.lines.all()),
            [],
            [],
        )

    def save_formset(self, request, form, formset, change):
        """Each changed draft line goes through purchase_order_line_set (0 removes)."""
        order = form.instance

        def line_set(variant_id: int, data: dict | None) -> PurchaseOrderLine | None:
            if data is None:
                return purchase_order_line_set(order=order, variant_id=variant_id, quantity=0)
            return purchase_order_line_set(
                order=order,
                variant_id=variant_id,
                quantity=data["quantity_ordered"],
                unit_cost=data.get("unit_cost_amount"),
            )

        formset_lines_save(formset, line_set=line_set)

    # -- pages

    def get_urls(self):
        return [*self.document_urls(receive=self.receive_view), *super().get_urls()]

    def document_for(self, request, object_id: str, *, change: bool = True):
        # A sent order is view-only in the form, but its steps need the change right.
        if not super().has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(
            PurchaseOrder.objects.select_related("supplier", "location"), pk=object_id
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {"show_save_and_add_another": False}
        if order is not None:
            extra["order_actions"] = self._actions_for(request, order)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _actions_for(self, request, order: PurchaseOrder) -> list[tuple[str, str, str]]:
        """(url, label, method) of what the table allows now."""
        if not super().has_change_permission(request):
            return []
        allowed = TRANSITIONS[order.status]
        actions = []
        if Status.SENT in allowed:
            actions.append((self.document_url("transition", order, "send"), _("Send"), "post"))
        if Status.RECEIVED in allowed:
            actions += [
                (self.document_url("receive", order), _("Receive…"), "get"),
                (
                    self.document_url("transition", order, "receive_all"),
                    _("Receive everything outstanding"),
                    "post",
                ),
            ]
        if Status.CANCELLED in allowed:
            actions.append((self.document_url("transition", order, "cancel"), _("Cancel"), "post"))
        return actions

    def receive_view(self, request, object_id: str):
        """A partial (or full) receipt: one quantity per line still expected."""
        order = self.document_for(request, object_id)
        if Status.RECEIVED not in TRANSITIONS[order.status]:
            return receipt_refused(
                self,
                request,
                order,
                message=_("%(order)s is %(status)s: there is nothing to receive.")
                % {"order": order, "status": order.get_status_display()},
            )
        lines = list(order.lines.select_related("variant__product"))
        form = ReceiveWithNoteForm(
            request.POST or None, lines=lines, expected=lambda line: line.quantity_ordered
        )
        return receipt_page(
            self,
            request,
            order,
            form=form,
            receive=lambda data: purchase_order_receive(
                order=order, quantities=form.quantities(), user=request.user, note=data["note"]
            ),
            message=lambda done: (
                _("%(order)s: receipt recorded, now %(status)s.")
                % {"order": done, "status": done.get_status_display()}
            ),
            title=lambda: (
                _("Receive %(order)s from %(supplier)s at %(location)s")
                % {"order": order, "supplier": order.supplier, "location": order.location}
            ),
            template="admin/inventory/purchaseorder/receive.html",
        )

    def transition_message(self, order: PurchaseOrder) -> str:
        return _("%(order)s is now %(status)s.") % {
            "order": order,
            "status": order.get_status_display(),
        }

    # -- list actions

    @admin.action(description=gettext_lazy("Send the selected drafts"), permissions=["change"])
    def send_orders(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), purchase_order_send)

    @admin.action(
        description=gettext_lazy("Receive everything outstanding"), permissions=["change"]
    )
    def receive_orders(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), purchase_order_receive_outstanding)

    @admin.action(description=gettext_lazy("Cancel the selected orders"), permissions=["change"])
    def cancel_orders(self, request, queryset):
        self.run_transition(request, queryset.order_by("pk"), purchase_order_cancel)
