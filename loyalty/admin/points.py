"""Back office for loyalty points: the programmes (their rules are data, edited here) and
the ledger, read-only (a correction is a new ``adjust`` row written by
``loyalty.services.points.points_adjust``, never an edit), with each row's customer
balance beside it and an "adjust" action that asks for the points and a reason."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from loyalty.models import PointsEntry, PointsProgramme
from loyalty.services.points import points_adjust, points_balance
from unicommerce.exceptions import DomainError


@admin.register(PointsProgramme)
class PointsProgrammeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "currency",
        "is_active",
        "points_per_unit",
        "point_value",
        "min_redeem_points",
        "expiry_days",
    ]
    list_filter = ["is_active", "currency"]
    search_fields = ["name"]
    filter_horizontal = ["channels"]
    readonly_fields = ["created_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A programme with a ledger stays (PROTECT); deactivate it instead.
        if obj is not None and obj.entries.exists():
            return False
        return super().has_delete_permission(request, obj)


def _balance_subquery() -> Subquery:
    per_customer = (
        PointsEntry.objects.filter(
            customer_id=OuterRef("customer_id"), programme_id=OuterRef("programme_id")
        )
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Subquery(per_customer, output_field=IntegerField())


def _balance(entry: PointsEntry) -> int:
    return points_balance(customer=entry.customer, programme=entry.programme)


class PointsAdjustForm(forms.Form):
    points = forms.IntegerField(
        label=gettext_lazy("points"),
        help_text=gettext_lazy("Positive to give points, negative to take them."),
    )
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=255)
    token = forms.CharField(widget=forms.HiddenInput)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Adjust by a number of points other than zero."))
        return points


@admin.register(PointsEntry)
class PointsEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "programme",
        "kind",
        "points",
        "reference",
        "reason",
        "expires_at",
        "customer_balance",
        "created_by",
    ]
    list_filter = ["kind", "programme", "created_at"]
    search_fields = [
        "reference",
        "customer__email",
        "customer__phone",
        "customer__last_name",
    ]
    list_select_related = ["customer", "programme", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in PointsEntry._meta.fields]
    actions = ["action_adjust"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(balance=_balance_subquery())

    @admin.display(description=gettext_lazy("customer balance"), ordering="balance")
    def customer_balance(self, entry: PointsEntry) -> int:
        return getattr(entry, "balance", None) or 0

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_adjust_permission(self, request) -> bool:
        """Adjusting writes ledger rows: the ledger's "add" permission."""
        return request.user.has_perm("loyalty.add_pointsentry")

    @admin.action(
        description=gettext_lazy("Adjust the points of these rows' customers"),
        permissions=["adjust"],
    )
    def action_adjust(self, request, queryset):
        pairs = sorted(set(queryset.values_list("customer_id", "programme_id")))
        rows = {(e.customer_id, e.programme_id): e for e in queryset.order_by("-id")}
        targets = [rows[pair] for pair in pairs]
        form = PointsAdjustForm(
            request.POST if "apply" in request.POST else None,
            initial={"token": uuid.uuid4().hex},
        )
        if "apply" in request.POST and form.is_valid():
            self._adjust(request, targets, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Adjust points"),
            "form": form,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "targets": [(entry.customer, entry.programme, _balance(entry)) for entry in targets],
        }
        return TemplateResponse(request, "admin/loyalty/pointsentry/adjust.html", context)

    def _adjust(self, request, targets: list[PointsEntry], data: dict) -> None:
        done = 0
        for entry in targets:
            try:
                points_adjust(
                    customer=entry.customer,
                    points=data["points"],
                    reason=data["reason"],
                    user=request.user,
                    programme=entry.programme,
                    idempotency_key=(
                        f"admin-adjust:{data['token']}:{entry.customer_id}:{entry.programme_id}"
                    ),
                )
            except DomainError as error:
                self.message_user(request, f"{entry.customer}: {error.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)s customer adjusted by %(points)+d points.",
                    "%(count)s customers adjusted by %(points)+d points.",
                    done,
                )
                % {"count": done, "points": data["points"]},
                messages.SUCCESS,
            )
