"""Back office for promotions and voucher campaigns (loyalty's tables, kept here because
the preview prices through ``orders.pricing``, which loyalty may not import).

A promotion's form refuses what the engine could not apply (a percentage above 100, a
buy X get Y without its quantities, a free item without its variant, a window that ends
before it starts, usage limits on an automatic promotion) as form errors. A campaign's
codes are listed inline (their counters read-only) up to ``INLINE_CODES``, else on the
voucher codes' own list; "Generate codes…" draws new ones
(``loyalty.services.vouchers.voucher_codes_generate``), "Export codes" writes them as
CSV, and the preview page shows what the promotion changes (``promotion_preview``).
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from customers.segments import RfmSegment
from loyalty.exceptions import VoucherCodesInvalid
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.services.vouchers import (
    CODE_MAX_LENGTH,
    MAX_COUNT,
    MIN_LENGTH,
    voucher_code_normalise,
    voucher_codes_generate,
)
from orders.admin.promotion_preview import order_example, variants_preview
from orders.pricing.offers import offers_forget
from unicommerce.money import money_format

INLINE_CODES = 100
Reward, Stage = Promotion.Reward, Promotion.Stage
CODE_TYPED = re.compile(r"^[A-Za-z0-9\s._-]+$")


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    return money_format(value, settings.DEFAULT_CURRENCY, get_language() or "en")


# --- Forms ------------------------------------------------------------------------------


class PromotionForm(forms.ModelForm):
    segments = forms.MultipleChoiceField(
        label=gettext_lazy("customer segments"),
        choices=RfmSegment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("RFM segments it is reserved to; none ticked: everyone."),
    )

    class Meta:
        model = Promotion
        fields = [
            *("name", "is_active", "stage", "reward", "value", "stackable", "priority"),
            *("min_subtotal", "buy_quantity", "get_quantity", "free_variant"),
            *("products", "categories", "variants", "channels", "locations"),
            *("starts_at", "ends_at", "segments"),
            *("requires_code", "usage_limit", "per_customer_limit"),
        ]

    def clean(self):
        data = super().clean()
        for field, message in self._rule_errors(data).items():
            self.add_error(field, message)
        return data

    @staticmethod
    def _rule_errors(data: dict) -> dict[str, str]:
        """The rules the engine relies on, each on the field to correct."""
        errors: dict[str, str] = {}
        reward, stage, value = data.get("reward"), data.get("stage"), data.get("value")
        if value is not None and value <= 0:
            errors["value"] = _("The value must be more than zero.")
        elif value is not None and reward in (Reward.PERCENT, Reward.BXGY) and value > 100:
            errors["value"] = _("A percentage is at most 100.")
        if stage == Stage.CATALOGUE and reward not in (Reward.PERCENT, Reward.AMOUNT, None):
            errors["reward"] = _("A catalogue promotion takes a percent or an amount off.")
        if reward == Reward.BXGY and not (data.get("buy_quantity") and data.get("get_quantity")):
            errors["buy_quantity"] = _("Buy X get Y needs both quantities, at least 1 each.")
        if reward == Reward.FREE_ITEM and data.get("free_variant") is None:
            errors["free_variant"] = _("Choose the item given free.")
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            errors["ends_at"] = _("The end must come after the start.")
        limits = data.get("usage_limit") is not None or data.get("per_customer_limit") is not None
        if limits and not data.get("requires_code"):
            errors["usage_limit"] = _(
                "Usage limits count the uses of codes: tick “voucher campaign” or leave them empty."
            )
        return errors


class VoucherCodeForm(forms.ModelForm):
    class Meta:
        model = VoucherCode
        fields = ["code", "max_uses", "is_active"]

    def clean_code(self) -> str:
        typed = self.cleaned_data["code"]
        if not CODE_TYPED.match(typed):
            raise ValidationError(_("A code holds letters and digits (spaces and dashes dropped)."))
        code = voucher_code_normalise(typed)
        if len(code) < 4:
            raise ValidationError(_("A code has at least 4 letters or digits."))
        return code


class VoucherCodeFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        typed = any(form.cleaned_data.get("code") for form in self.forms if form.has_changed())
        if typed and not self.instance.requires_code:
            raise ValidationError(_("Codes belong to voucher campaigns: tick “voucher campaign”."))


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(label=gettext_lazy("how many"), min_value=1, max_value=MAX_COUNT)
    prefix = forms.CharField(
        label=gettext_lazy("prefix"),
        required=False,
        max_length=CODE_MAX_LENGTH - MIN_LENGTH,
        help_text=gettext_lazy("Letters and digits before the random part, e.g. NOEL."),
    )
    length = forms.IntegerField(
        label=gettext_lazy("random characters"),
        min_value=MIN_LENGTH,
        max_value=CODE_MAX_LENGTH,
        initial=10,
    )
    max_uses = forms.IntegerField(
        label=gettext_lazy("uses of each code"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("Empty: as often as the campaign allows."),
    )


# --- Promotions ---------------------------------------------------------------------------


class VoucherCodeInline(admin.TabularInline):
    model = VoucherCode
    form = VoucherCodeForm
    formset = VoucherCodeFormSet
    extra = 0
    fields = ["code", "max_uses", "used_count", "is_active", "created_at"]
    readonly_fields = ["used_count", "created_at"]


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionForm
    change_form_template = "admin/loyalty/promotion/change_form.html"
    list_display = [
        "name",
        "stage",
        "reward",
        "value_shown",
        "window",
        "is_active",
        "requires_code",
        "usage",
    ]
    list_filter = ["stage", "reward", "is_active", "requires_code", "stackable", "channels"]
    search_fields = ["name", "codes__code"]
    list_select_related = ["free_variant"]
    autocomplete_fields = [
        "products",
        "categories",
        "variants",
        "channels",
        "locations",
        "free_variant",
    ]
    readonly_fields = ["used_count", "codes_summary", "created_at", "updated_at"]
    actions = ["generate_codes", "export_codes"]

    # This process prices carts with the new rules at once (others within
    # settings.PRICING_OFFERS_CACHE_SECONDS; checkout always reads them fresh).
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        offers_forget()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        offers_forget()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        offers_forget()

    fieldsets = [
        (None, {"fields": ["name", "is_active", "stage", "reward", "value"]}),
        (
            gettext_lazy("Rules"),
            {
                "fields": [
                    "stackable",
                    "priority",
                    "min_subtotal",
                    ("buy_quantity", "get_quantity"),
                    "free_variant",
                ]
            },
        ),
        (gettext_lazy("On what"), {"fields": ["products", "categories", "variants"]}),
        (
            gettext_lazy("Where, when, for whom"),
            {"fields": ["channels", "locations", ("starts_at", "ends_at"), "segments"]},
        ),
        (
            gettext_lazy("Voucher campaign"),
            {
                "fields": [
                    "requires_code",
                    ("usage_limit", "per_customer_limit"),
                    "used_count",
                    "codes_summary",
                ]
            },
        ),
        (gettext_lazy("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=gettext_lazy("value"))
    def value_shown(self, promotion: Promotion) -> str:
        if promotion.reward == Reward.FREE_ITEM:
            return str(promotion.free_variant or "—")
        if promotion.reward == Reward.AMOUNT:
            return _money(promotion.value)
        return f"{_number(promotion.value)} %"

    @admin.display(description=gettext_lazy("window"))
    def window(self, promotion: Promotion) -> str:
        def shown(moment) -> str:
            return date_format(localtime(moment), "SHORT_DATETIME_FORMAT")

        if promotion.starts_at and promotion.ends_at:
            return f"{shown(promotion.starts_at)} → {shown(promotion.ends_at)}"
        if promotion.starts_at:
            return _("from %(start)s") % {"start": shown(promotion.starts_at)}
        if promotion.ends_at:
            return _("until %(end)s") % {"end": shown(promotion.ends_at)}
        return _("always")

    @admin.display(description=gettext_lazy("used / limit"))
    def usage(self, promotion: Promotion) -> str:
        if not promotion.requires_code:
            return "—"
        limit = promotion.usage_limit if promotion.usage_limit is not None else "∞"
        return f"{promotion.used_count} / {limit}"

    @admin.display(description=gettext_lazy("codes"))
    def codes_summary(self, promotion: Promotion) -> str:
        if promotion.pk is None:
            return "—"
        url = (
            reverse("admin:loyalty_vouchercode_changelist")
            + f"?promotion__id__exact={promotion.pk}"
        )
        count = promotion.codes.count()
        text = ngettext("%(count)d code", "%(count)d codes", count) % {"count": count}
        return format_html('<a href="{}">{}</a>', url, text)

    def get_inlines(self, request, obj):
        if obj is None or (obj.requires_code and obj.codes.count() <= INLINE_CODES):
            return [VoucherCodeInline]
        return []

    # --- Actions and pages ------------------------------------------------------------

    def has_generate_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj) and request.user.has_perm(
            "loyalty.add_vouchercode"
        )

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("loyalty.view_vouchercode")

    @admin.action(description=gettext_lazy("Generate codes…"), permissions=["generate"])
    def generate_codes(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(
                request, _("Choose one campaign to generate its codes."), messages.ERROR
            )
            return None
        return HttpResponseRedirect(self.page_url("generate", chosen[0]))

    @admin.action(description=gettext_lazy("Export codes as CSV"), permissions=["export"])
    def export_codes(self, request, queryset):
        response = StreamingHttpResponse(_codes_csv(queryset), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="voucher-codes.csv"'
        return response

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/",
                wrap(self.preview_view),
                name="loyalty_promotion_preview",
            ),
            path(
                "<path:object_id>/codes/generate/",
                wrap(self.generate_view),
                name="loyalty_promotion_generate",
            ),
            *super().get_urls(),
        ]

    def page_url(self, page: str, pk: int) -> str:
        return reverse(f"admin:loyalty_promotion_{page}", args=[pk])

    def promotion_for(self, request, object_id: str) -> Promotion:
        promotion = self.get_object(request, object_id)
        if promotion is None:
            raise Http404
        return promotion

    def render_page(self, request, promotion: Promotion, template: str, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": promotion,
            "has_view_permission": True,
            **context,
        }
        return TemplateResponse(request, f"admin/loyalty/promotion/{template}", context)

    def generate_view(self, request, object_id: str):
        promotion = self.promotion_for(request, object_id)
        if not self.has_generate_permission(request, promotion):
            raise PermissionDenied
        form = GenerateCodesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                created = voucher_codes_generate(promotion=promotion, **form.cleaned_data)
            except VoucherCodesInvalid as refused:
                form.add_error(None, refused.message)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d code generated for %(name)s.",
                        "%(count)d codes generated for %(name)s.",
                        len(created),
                    )
                    % {"count": len(created), "name": promotion.name},
                )
                return HttpResponseRedirect(
                    reverse("admin:loyalty_promotion_change", args=[promotion.pk])
                )
        title = _("Generate codes for %(name)s") % {"name": promotion.name}
        return self.render_page(request, promotion, "generate.html", form=form, title=title)

    def preview_view(self, request, object_id: str):
        promotion = self.promotion_for(request, object_id)
        if not self.has_view_permission(request, promotion):
            raise PermissionDenied
        title = _("What %(name)s changes") % {"name": promotion.name}
        try:
            if promotion.stage == Stage.ORDER:
                shown = {"example": order_example(promotion), "order_stage": True}
            else:
                shown = {"preview": variants_preview(promotion)}
        except ValueError:  # a rule the form refuses, written to the database otherwise
            self.message_user(
                request, _("This promotion's rule cannot be applied: correct it."), messages.ERROR
            )
            return HttpResponseRedirect(
                reverse("admin:loyalty_promotion_change", args=[promotion.pk])
            )
        return self.render_page(request, promotion, "preview.html", title=title, **shown)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["preview_url"] = self.page_url("preview", obj.pk)
            if obj.requires_code and self.has_generate_permission(request, obj):
                context["generate_url"] = self.page_url("generate", obj.pk)
        return super().render_change_form(request, context, add, change, form_url, obj)


class _Echo:
    """A file for csv.writer that hands each row back, to stream it."""

    def write(self, value: str) -> str:
        return value


def _codes_csv(promotions):
    """The codes of ``promotions`` as CSV rows, read in chunks (a campaign may have
    thousands)."""
    writer = csv.writer(_Echo())
    yes, no = _("yes"), _("no")
    yield writer.writerow([_("code"), _("max uses"), _("used"), _("active"), _("campaign")])
    codes = (
        VoucherCode.objects.filter(promotion__in=promotions)
        .select_related("promotion")
        .order_by("promotion_id", "code")
    )
    for code in codes.iterator(chunk_size=2000):
        uses = "" if code.max_uses is None else code.max_uses
        active = yes if code.is_active else no
        yield writer.writerow([code.code, uses, code.used_count, active, code.promotion.name])


# --- Codes and their uses -------------------------------------------------------------------


@admin.register(VoucherCode)
class VoucherCodeAdmin(admin.ModelAdmin):
    form = VoucherCodeForm
    list_display = ["code", "promotion", "max_uses", "used_count", "is_active", "created_at"]
    list_filter = ["is_active", "promotion__is_active"]
    search_fields = ["code", "promotion__name"]
    list_select_related = ["promotion"]
    autocomplete_fields = ["promotion"]
    readonly_fields = ["used_count", "created_at"]
    fields = ["promotion", "code", "max_uses", "is_active", "used_count", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = ["promotion", "code", "max_uses", "is_active"]
        return super().get_form(request, obj, change, **kwargs)


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(admin.ModelAdmin):
    """The uses of codes by orders, read-only: ``vouchers_use`` writes them at placement
    and ``vouchers_release`` marks them given back on cancellation."""

    list_display = [
        "created_at",
        "code",
        "promotion",
        "reference",
        "customer",
        "amount",
        "released_at",
    ]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["reference", "code__code", "promotion__name"]
    list_select_related = ["code", "promotion", "customer"]
    readonly_fields = [f.name for f in VoucherRedemption._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
