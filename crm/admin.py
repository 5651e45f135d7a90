"""The customer admin: search by name, email or phone in any format, segments (filters
and CSV export), the 360° view on the change page, GDPR export and erasure, duplicates
and merging. Its forms, inlines and filters are customers' (``customers.admin``); the
page is crm's because merging, erasing, exporting and the 360° view involve every app
(``crm.services``, ``crm.selectors``), which customers, below them, may not import.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.selectors import customer_export, customer_overview
from crm.services.erasure import customer_erase
from crm.services.merging import customer_merge
from customers.admin import (
    AddressInline,
    ConsentFilter,
    ConsentInline,
    CustomerForm,
    NoteInline,
    RfmSegmentFilter,
    StateFilter,
    TagFilter,
    latest_consent,
)
from customers.exceptions import InvalidPhone
from customers.models import Address, Consent, Customer, CustomerNote
from customers.phones import phone_display, phone_e164
from customers.segments import RfmSegment
from customers.selectors import DuplicateReason, customer_consents, customer_duplicates
from customers.services.identity import customer_identify
from customers.services.profile import consent_record, customer_tags_set, customer_update
from loyalty.selectors import customer_balances
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError
from unicommerce.spreadsheets import SpreadsheetWriter

# --------------------------------------------------------------------------- 360° panels


@dataclass(frozen=True)
class Panel:
    """A panel of the customer's 360° page: ``function(customer, viewer)`` returns
    ``(template, context)``, or None when there is nothing to show. ``viewer`` is the
    member of staff looking (what they see of other apps' records is limited to their
    stores)."""

    title: Any  # a lazy translation
    function: Callable[[Customer, Any], tuple[str, dict] | None]


def orders_panel(customer: Customer, viewer) -> tuple[str, dict[str, Any]]:
    overview = customer_overview(customer, viewer=viewer)
    return "admin/customers/panels/orders.html", {"overview": overview}


def balances_panel(customer: Customer, viewer) -> tuple[str, dict[str, Any]]:
    """Points, store credit and the gift cards they bought (loyalty's ledgers)."""
    balances = customer_balances(customer, currency=settings.DEFAULT_CURRENCY)
    return "admin/customers/panels/balances.html", {"balances": balances}


# Shown in this order, above the form.
PANELS = [
    Panel(gettext_lazy("Orders, carts and returns"), orders_panel),
    Panel(gettext_lazy("Points, store credit and gift cards"), balances_panel),
]


# --------------------------------------------------------------------------- the admin

_PHONE_QUERY = re.compile(r"^\+?[\d\s.\-()/]{4,}$")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    change_form_template = "admin/customers/customer/change_form.html"
    change_list_template = "admin/customers/customer/change_list.html"
    list_display = [
        "__str__",
        "email",
        "phone_shown",
        "behaviour",
        "rfm_segment_shown",
        "order_count",
        "lifetime_value",
        "last_purchase_at",
        "preferred_channel",
    ]
    list_select_related = ["preferred_channel"]
    search_fields = ["first_name", "last_name", "email"]
    search_help_text = gettext_lazy("Name, email, or phone in any format (06 12 34 56 78, +33…).")
    list_filter = [
        "behaviour",
        RfmSegmentFilter,
        "preferred_channel",
        ConsentFilter,
        TagFilter,
        StateFilter,
    ]
    date_hierarchy = "created_at"
    inlines = [AddressInline, ConsentInline, NoteInline]
    actions = ["export_csv", "export_gdpr", "erase_selected", "merge_selected"]
    readonly_fields = [
        "merged_into",
        "erased_at",
        "order_count",
        "lifetime_value",
        "last_purchase_at",
        "preferred_channel",
        "behaviour",
        "rfm_scores",
        "rfm_segment_shown",
        "figures_updated_at",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "tags", "source_channel"]}),
        (gettext_lazy("Consents"), {"fields": ["sms_marketing", "email_marketing"]}),
        (
            gettext_lazy("Figures and segments"),
            {
                "fields": [
                    "order_count",
                    "lifetime_value",
                    "last_purchase_at",
                    "preferred_channel",
                    "behaviour",
                    "rfm_scores",
                    "rfm_segment_shown",
                    "figures_updated_at",
                ]
            },
        ),
        (gettext_lazy("Record"), {"fields": ["created_at", "merged_into", "erased_at"]}),
    ]

    # -- columns

    @admin.display(description=gettext_lazy("phone"), ordering="phone")
    def phone_shown(self, customer: Customer) -> str:
        return phone_display(customer.phone) if customer.phone else "—"

    @admin.display(description=gettext_lazy("RFM segment"), ordering="rfm_segment")
    def rfm_segment_shown(self, customer: Customer) -> str:
        return RfmSegment.label(customer.rfm_segment) if customer.rfm_segment else "—"

    @admin.display(description=gettext_lazy("R / F / M"))
    def rfm_scores(self, customer: Customer) -> str:
        if customer.rfm_recency is None:
            return "—"
        return f"{customer.rfm_recency} / {customer.rfm_frequency} / {customer.rfm_monetary}"

    # -- search: a phone in any format

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if _PHONE_QUERY.match(term):
            phone_matches = Q()
            with contextlib.suppress(InvalidPhone):
                phone_matches |= Q(phone=phone_e164(term))
            digits = re.sub(r"\D", "", term)
            if len(digits) >= 4:
                # A partial number: the national digits without the leading 0.
                phone_matches |= Q(phone__contains=digits.lstrip("0") or digits)
            results = results | queryset.filter(phone_matches)
        elif "@" in term:
            results = results | queryset.filter(email=term.lower())
        return results, may_have_duplicates

    # -- the page

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merged_into")

    def has_delete_permission(self, request, obj=None) -> bool:
        # A customer is erased (anonymised), not deleted: orders point at them.
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and (obj.erased_at or obj.merged_into_id):
            fields += ["first_name", "last_name", "email", "phone", "tags", "source_channel"]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and (obj.erased_at or obj.merged_into_id):
            return [fs for fs in fieldsets if "sms_marketing" not in fs[1]["fields"]]
        return fieldsets

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context["panels"] = self._panels(customer, request.user)
            extra_context["consents_now"] = customer_consents(customer)
        return super().change_view(request, object_id, form_url, extra_context)

    def _panels(self, customer: Customer, viewer) -> list[dict]:
        shown = []
        for panel in PANELS:
            rendered = panel.function(customer, viewer)
            if rendered is None:
                continue
            template, context = rendered
            shown.append(
                {
                    "title": panel.title,
                    "html": render_to_string(template, {"customer": customer, **context}),
                }
            )
        return shown

    # -- saving through the services

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # a rule the form could not check: nothing was saved
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            if not (obj.erased_at or obj.merged_into_id):
                customer = Customer.objects.get(pk=obj.pk)
                customer_update(
                    customer=customer,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    phone=data["phone"],
                )
                Customer.objects.filter(pk=obj.pk).update(source_channel=data["source_channel"])
                customer_tags_set(customer=customer, tags=data["tags"])
                obj.refresh_from_db()
        else:
            created, _created = customer_identify(
                email=data["email"] or "",
                phone=data["phone"] or "",
                first_name=data["first_name"],
                last_name=data["last_name"],
                channel=data["source_channel"],
                verified=True,  # staff entering a customer they deal with
            )
            customer_tags_set(customer=created, tags=data["tags"])
            for field in Customer._meta.concrete_fields:
                setattr(obj, field.attname, getattr(created, field.attname))
            obj._state.adding = False
        for kind in Consent.Kind.values:
            choice = data.get(kind)
            if choice and not obj.erased_at:
                consent_record(
                    customer=obj,
                    kind=kind,
                    granted=choice == "granted",
                    source="admin",
                    user=request.user,
                )

    def save_formset(self, request, form, formset, change):
        if formset.model is CustomerNote:
            for note in formset.save(commit=False):
                if note.pk is None:
                    note.author = request.user
                    note.save()
            return
        if formset.model is Address:
            # The default moves in two steps so the "one default" constraint holds.
            instances = formset.save(commit=False)
            for address in formset.deleted_objects:
                address.delete()
            new_default = next((a for a in instances if a.is_default), None)
            if new_default is not None:
                Address.objects.filter(customer=form.instance, is_default=True).exclude(
                    pk=new_default.pk
                ).update(is_default=False)
            for address in sorted(instances, key=lambda a: a.is_default):
                address.save()
            if not Address.objects.filter(customer=form.instance, is_default=True).exists():
                first = Address.objects.filter(customer=form.instance).order_by("id").first()
                if first is not None:
                    Address.objects.filter(pk=first.pk).update(is_default=True)
            return
        super().save_formset(request, form, formset, change)

    # -- extra pages

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("duplicates/", wrap(self.duplicates_view), name="customers_customer_duplicates"),
            path("merge/", wrap(self.merge_view), name="customers_customer_merge"),
            path("erase/", wrap(self.erase_view), name="customers_customer_erase"),
            path(
                "<path:object_id>/gdpr-export/",
                wrap(self.gdpr_export_view),
                name="customers_customer_gdpr_export",
            ),
            *super().get_urls(),
        ]

    def _context(self, request, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def _ids(self, request) -> list[int]:
        raw = request.POST.get("ids") or request.GET.get("ids") or ""
        ids = (whole_number(part.strip(), minimum=1) for part in raw.split(","))
        return [number for number in ids if number is not None]

    def duplicates_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        candidates = customer_duplicates()
        rows = [
            {
                "first": candidate.first,
                "second": candidate.second,
                "reasons": [str(DuplicateReason.labels[r]) for r in candidate.reasons],
                "merge_url": reverse("admin:customers_customer_merge")
                + f"?ids={candidate.first.pk},{candidate.second.pk}",
            }
            for candidate in candidates
        ]
        return render(
            request,
            "admin/customers/customer/duplicates.html",
            self._context(request, _("Possible duplicates"), rows=rows),
        )

    def merge_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        ids = self._ids(request)
        customers = list(Customer.objects.filter(pk__in=ids).order_by("pk"))
        changelist = reverse("admin:customers_customer_changelist")
        if len(set(ids)) != 2 or len(customers) != 2:
            self.message_user(request, _("Choose exactly two customers to merge."), messages.ERROR)
            return HttpResponseRedirect(changelist)
        error = None
        if request.method == "POST":
            survivor_id = request.POST.get("survivor", "")
            chosen = [c for c in customers if str(c.pk) == survivor_id]
            if not chosen:
                error = _("Choose the customer to keep.")
            else:
                survivor = chosen[0]
                duplicate = next(c for c in customers if c.pk != survivor.pk)
                try:
                    customer_merge(survivor=survivor, duplicate=duplicate, user=request.user)
                except DomainError as refused:
                    error = refused.message
                else:
                    self.log_change(
                        request, survivor, _("Merged customer #%(id)s.") % {"id": duplicate.pk}
                    )
                    self.log_change(
                        request, duplicate, _("Merged into #%(id)s.") % {"id": survivor.pk}
                    )
                    self.message_user(
                        request,
                        _("%(duplicate)s was merged into %(survivor)s.")
                        % {"duplicate": f"#{duplicate.pk}", "survivor": survivor},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:customers_customer_change", args=[survivor.pk])
                    )
        return render(
            request,
            "admin/customers/customer/merge_confirm.html",
            self._context(
                request,
                _("Merge two customers"),
                customers=customers,
                ids=",".join(str(c.pk) for c in customers),
                error=error,
            ),
            status=400 if error else 200,
        )

    def erase_view(self, request):
        if not self.has_erase_permission(request):
            raise PermissionDenied
        customers = list(Customer.objects.filter(pk__in=self._ids(request)).order_by("pk"))
        changelist = reverse("admin:customers_customer_changelist")
        if not customers:
            self.message_user(request, _("Choose the customers to erase."), messages.ERROR)
            return HttpResponseRedirect(changelist)
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            erased, refused = 0, []
            for customer in customers:
                try:
                    customer_erase(customer=customer, user=request.user)
                except DomainError as error:
                    refused.append(error.message)
                else:
                    erased += 1
                    self.log_change(request, customer, _("Erased (GDPR)."))
            if erased:
                self.message_user(
                    request,
                    ngettext("%(count)d customer erased.", "%(count)d customers erased.", erased)
                    % {"count": erased},
                    messages.SUCCESS,
                )
            for message in refused:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(changelist)
        return render(
            request,
            "admin/customers/customer/erase_confirm.html",
            self._context(
                request,
                _("Erase customers"),
                customers=customers,
                ids=",".join(str(c.pk) for c in customers),
            ),
        )

    def gdpr_export_view(self, request, object_id: str):
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        if not self.has_change_permission(request, customer):
            raise PermissionDenied
        return _json_download(customer_export(customer), f"customer-{customer.pk}.json")

    # -- list actions

    @admin.action(description=gettext_lazy("Export the selected customers (CSV)"))
    def export_csv(self, request, queryset):
        rows = (
            queryset.select_related("preferred_channel")
            .annotate(**{f"consent_{kind}": latest_consent(kind) for kind in Consent.Kind.values})
            .order_by("pk")
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
        writer = SpreadsheetWriter(response)  # no live formula in a name or a note
        writer.writerow(
            [
                "id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "tags",
                "order_count",
                "lifetime_value",
                "last_purchase_at",
                "preferred_channel",
                "behaviour",
                "rfm_recency",
                "rfm_frequency",
                "rfm_monetary",
                "rfm_segment",
                *Consent.Kind.values,
            ]
        )
        consent_text = {True: "granted", False: "withdrawn", None: ""}
        for customer in rows:
            writer.writerow(
                [
                    customer.pk,
                    customer.first_name,
                    customer.last_name,
                    customer.email or "",
                    customer.phone or "",
                    " ".join(customer.tags),
                    customer.order_count,
                    customer.lifetime_value,
                    customer.last_purchase_at.isoformat() if customer.last_purchase_at else "",
                    customer.preferred_channel.code if customer.preferred_channel else "",
                    customer.behaviour,
                    customer.rfm_recency or "",
                    customer.rfm_frequency or "",
                    customer.rfm_monetary or "",
                    customer.rfm_segment,
                    *(
                        consent_text[getattr(customer, f"consent_{kind}")]
                        for kind in Consent.Kind.values
                    ),
                ]
            )
        return response

    @admin.action(
        description=gettext_lazy("GDPR export of the selected customer (JSON)"),
        permissions=["change"],
    )
    def export_gdpr(self, request, queryset):
        customers = list(queryset[:2])
        if len(customers) != 1:
            self.message_user(request, _("Choose one customer for a GDPR export."), messages.ERROR)
            return None
        return _json_download(customer_export(customers[0]), f"customer-{customers[0].pk}.json")

    def has_erase_permission(self, request) -> bool:
        # Erasing replaces deleting (which is off): it needs the delete permission.
        return request.user.has_perm("customers.delete_customer")

    @admin.action(
        description=gettext_lazy("Erase the selected customers (GDPR)…"), permissions=["erase"]
    )
    def erase_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse("admin:customers_customer_erase") + f"?ids={ids}")

    @admin.action(
        description=gettext_lazy("Merge the two selected customers…"), permissions=["change"]
    )
    def merge_selected(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, _("Choose exactly two customers to merge."), messages.ERROR)
            return None
        return HttpResponseRedirect(
            reverse("admin:customers_customer_merge") + f"?ids={ids[0]},{ids[1]}"
        )


def _json_download(data: dict, filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
