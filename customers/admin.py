"""The forms, inlines and list filters of the customer admin. The admin page itself is
``crm.admin.CustomerAdmin``: it shows the 360° view and merges, erases and exports
customers, which involves every app, so it sits in crm, above them all.

Every change goes through customers.services, so the admin accepts exactly what the API
and the POS accept: phones are stored in E.164, emails normalised, a contact detail
another customer has is refused with a form error.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.emails import email_normalised
from customers.exceptions import InvalidEmail, InvalidPhone
from customers.models import Address, Consent, Customer, CustomerNote
from customers.phones import phone_e164
from customers.segments import RfmSegment
from customers.selectors import customer_consents
from customers.services.profile import tags_normalised
from unicommerce.exceptions import DomainError

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


def latest_consent(kind: str) -> Subquery:
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
        queryset = queryset.annotate(**{f"consent_{kind}": latest_consent(kind)})
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
