"""Back-office for customers: search by name, email or phone in any format, segments
(filters and CSV export), the 360° view on the change page (panels registered by the apps
above customers), GDPR export and erasure, duplicates and merging.

Every change goes through customers.services, so the admin accepts exactly what the API
and the POS accept: phones are stored in E.164, emails normalised, a contact detail
another customer has is refused with a form error.
"""

from __future__ import annotations

import contextlib
import json
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.models import Address, Consent, Customer, CustomerNote
from customers.phones import InvalidPhone, phone_display, phone_e164
from customers.registry import customer_panels
from customers.segments import RfmSegment
from customers.services import (
    DuplicateReason,
    InvalidEmail,
    consent_record,
    customer_consents,
    customer_duplicates,
    customer_erase,
    customer_export,
    customer_identify,
    customer_merge,
    customer_tags_set,
    customer_update,
    email_normalised,
    tags_normalised,
)
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError
from unicommerce.spreadsheets import SpreadsheetWriter

# --------------------------------------------------------------------------- forms

CONSENT_UNCHANGED = ""
CONSENT_CHOICES = [
    (CONSENT_UNCHANGED, gettext_lazy("— unchanged —")),
    ("granted", gettext_lazy("granted")),
    ("withdrawn", gettext_lazy("withdrawn")),
]


class CustomerForm(forms.ModelForm):
    """Email and phone normalised as the services do (a phone in any usual format becomes
    E.164); consents are recorded as new history rows, never edited."""

    tags = forms.CharField(
        label=gettext_lazy("tags"),
        required=False,
        help_text=gettext_lazy("Separated by commas."),
    )
    sms_marketing = forms.ChoiceField(
        label=gettext_lazy("SMS marketing consent"), choices=CONSENT_CHOICES, required=False
    )
    email_marketing = forms.ChoiceField(
        label=gettext_lazy("email marketing consent"), choices=CONSENT_CHOICES, required=False
    )

    class Meta:
        model = Customer
        fields = ["first_name", "last_name", "email", "phone", "source_channel"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "email" in self.fields:  # read-only (absent) for merged and erased customers
            self.fields["email"].widget = forms.TextInput(attrs={"class": "vTextField"})
        if "phone" in self.fields:
            self.fields["phone"].max_length = 32
            self.fields["phone"].widget = forms.TextInput(attrs={"class": "vTextField"})
            self.fields["phone"].help_text = _("Any usual format; stored in E.164 (+33612345678).")
        if self.instance.pk and "tags" in self.fields:
            self.initial["tags"] = ", ".join(self.instance.tags)
            for kind, consent in customer_consents(self.instance).items():
                if consent is not None and kind in self.fields:
                    state = _("granted") if consent.granted else _("withdrawn")
                    self.fields[kind].help_text = _("Now: %(state)s (%(source)s, %(at)s).") % {
                        "state": state,
                        "source": consent.source,
                        "at": timezone.localtime(consent.at).strftime("%Y-%m-%d %H:%M"),
                    }

    def clean_email(self):
        raw = self.cleaned_data.get("email")
        if not raw:
            return None
        try:
            return email_normalised(raw)
        except InvalidEmail as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean_phone(self):
        raw = self.cleaned_data.get("phone")
        if not raw:
            return None
        try:
            return phone_e164(raw)
        except InvalidPhone as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean_tags(self):
        try:
            return tags_normalised(self.cleaned_data.get("tags") or "")
        except DomainError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self):
        cleaned = super().clean()
        if (
            not self.errors
            and not cleaned.get("email")
            and not cleaned.get("phone")
            and not (self.instance.pk and (self.instance.erased_at or self.instance.merged_into_id))
        ):
            raise forms.ValidationError(_("Give an email address or a phone number."))
        return cleaned


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [
            "label",
            "first_name",
            "last_name",
            "line1",
            "line2",
            "postal_code",
            "city",
            "country",
            "phone",
            "is_default",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].max_length = 32

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError(_("A country is a two-letter ISO code (FR, BE…)."))
        return country

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("phone")
        if raw:
            try:
                cleaned["phone"] = phone_e164(raw, region=cleaned.get("country") or None)
            except InvalidPhone as error:
                self.add_error("phone", error.message)
        return cleaned


class AddressFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        defaults = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_default") and not form.cleaned_data.get("DELETE")
        ]
        if len(defaults) > 1:
            raise forms.ValidationError(_("Only one address can be the default one."))


# --------------------------------------------------------------------------- inlines


class AddressInline(admin.StackedInline):
    model = Address
    form = AddressForm
    formset = AddressFormSet
    extra = 0
    classes = ["collapse"]


class ConsentInline(admin.TabularInline):
    """The consent history, read-only: a change is a new row (the form's consent fields)."""

    model = Consent
    extra = 0
    can_delete = False
    fields = ["kind", "granted", "source", "channel", "recorded_by", "at"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("consent history (latest first)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NoteInline(admin.TabularInline):
    """Notes are added, never edited: existing ones are read-only."""

    model = CustomerNote
    extra = 1
    can_delete = False
    fields = ["body", "channel", "author", "created_at"]
    readonly_fields = ["author", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Existing notes are shown read-only; new ones can still be added.
        return False


# --------------------------------------------------------------------------- filters


class StateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("live", _("live")),
            ("merged", _("merged into another")),
            ("erased", _("erased")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(merged_into__isnull=True, erased_at__isnull=True)
        if self.value() == "merged":
            return queryset.filter(merged_into__isnull=False)
        if self.value() == "erased":
            return queryset.filter(erased_at__isnull=False)
        return queryset


class RfmSegmentFilter(admin.SimpleListFilter):
    title = gettext_lazy("RFM segment")
    parameter_name = "rfm_segment"

    def lookups(self, request, model_admin):
        return [*RfmSegment.choices, ("none", _("no purchase yet"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(rfm_segment="")
        if self.value():
            return queryset.filter(rfm_segment=self.value())
        return queryset


def _latest_consent(kind: str) -> Subquery:
    return Subquery(
        Consent.objects.filter(customer=OuterRef("pk"), kind=kind)
        .order_by("-at", "-id")
        .values("granted")[:1]
    )


class ConsentFilter(admin.SimpleListFilter):
    title = gettext_lazy("consent")
    parameter_name = "consent"

    def lookups(self, request, model_admin):
        choices = []
        for kind, label in Consent.Kind.choices:
            choices += [
                (f"{kind}:yes", _("%(kind)s: granted") % {"kind": label}),
                (f"{kind}:no", _("%(kind)s: withdrawn") % {"kind": label}),
                (f"{kind}:never", _("%(kind)s: never asked") % {"kind": label}),
            ]
        return choices

    def queryset(self, request, queryset):
        kind, _sep, state = (self.value() or "").partition(":")
        if kind not in Consent.Kind.values:
            return queryset
        queryset = queryset.annotate(**{f"consent_{kind}": _latest_consent(kind)})
        field = f"consent_{kind}"
        if state == "yes":
            return queryset.filter(**{field: True})
        if state == "no":
            return queryset.filter(**{field: False})
        if state == "never":
            return queryset.filter(**{f"{field}__isnull": True})
        return queryset


class TagFilter(admin.SimpleListFilter):
    title = gettext_lazy("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT unnest(tags) AS tag FROM {Customer._meta.db_table} "  # noqa: S608
                "ORDER BY tag LIMIT 100"
            )
            return [(tag, tag) for (tag,) in cursor.fetchall()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tags__contains=[self.value()])
        return queryset


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
        for panel in customer_panels():
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
            .annotate(**{f"consent_{kind}": _latest_consent(kind) for kind in Consent.Kind.values})
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
