"""Back-office for payments: the ledgers read-only, links created and acted on through
the services (``payments.services.links``), never by editing rows."""

from __future__ import annotations

import re
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.exceptions import InvalidPhone
from customers.phones import phone_e164
from inventory.admin.scoping import StoreScopedAdmin
from inventory.selectors import staff_location_ids
from orders.models import Order
from orders.selectors import orders_visible_to
from payments.admin.dashboard import payments_dashboard_register
from payments.models import (
    Instalment,
    InstalmentPlan,
    Payment,
    PaymentLink,
    PaymentOperation,
    ProviderEvent,
)
from payments.selectors import payment_link_current, payment_link_sms_status
from payments.services.links import payment_link_cancel, payment_link_create, payment_link_resend
from unicommerce.exceptions import DomainError
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

ORDER_REFERENCE = re.compile(r"^\s*UC0*(\d{1,12})\s*$", re.IGNORECASE)


def _of_visible_orders(path: str):
    """A store scope for rows of an order (through ``path``): those of orders the user
    may see (their stores; head office: all)."""

    def scope(user, queryset):
        if staff_location_ids(user) is None:
            return queryset
        return queryset.filter(**{f"{path}__in": orders_visible_to(user)})

    return scope


class ReadOnlyAdmin(admin.ModelAdmin):
    """A ledger: looked at, never written from the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _order_search(queryset, search_term: str):
    """Orders are searched by their reference (UC00000042), which is their id."""
    match = ORDER_REFERENCE.match(search_term or "")
    return queryset.filter(order_id=int(match.group(1))) if match else None


class PaymentOperationInline(ReadOnlyInline):
    model = PaymentOperation
    fk_name = "payment"
    fields = [
        "created_at",
        "kind",
        "status",
        "amount",
        "currency",
        "provider_reference",
        "error_code",
        "error_message",
        "reason",
        "created_by",
    ]
    readonly_fields = fields
    ordering = ["created_at", "id"]


@admin.register(Payment)
class PaymentAdmin(StoreScopedAdmin, ReadOnlyAdmin):
    store_scope = staticmethod(_of_visible_orders("order"))

    list_display = [
        "created_at",
        "order",
        "method",
        "status",
        "amount",
        "captured_amount",
        "refunded_amount",
        "currency",
        "gateway",
        "channel",
    ]
    list_filter = ["method", "status", "gateway", "channel", "created_at"]
    search_fields = ["provider_reference"]
    search_help_text = _("An order reference (UC00000042) or a provider reference.")
    date_hierarchy = "created_at"
    list_select_related = ["order", "channel"]
    inlines = [PaymentOperationInline]
    fields = [
        "order",
        "method",
        "status",
        "amount",
        "currency",
        "captured_amount",
        "refunded_amount",
        "tendered_amount",
        "change_amount",
        "gateway",
        "provider_reference",
        "card_brand",
        "card_last4",
        "channel",
        "created_at",
        "updated_at",
        "created_by",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        by_order = _order_search(queryset, search_term)
        if by_order is not None:
            return by_order, False
        return super().get_search_results(request, queryset, search_term)


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = [
        "number",
        "due_date",
        "amount",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "reminder_sent_at",
        "paid_at",
    ]
    readonly_fields = fields
    ordering = ["number"]


@admin.register(InstalmentPlan)
class InstalmentPlanAdmin(StoreScopedAdmin, ReadOnlyAdmin):
    store_scope = staticmethod(_of_visible_orders("payment__order"))

    list_display = ["created_at", "payment", "kind", "status", "amount", "currency", "phone"]
    list_filter = ["kind", "status"]
    list_select_related = ["payment", "payment__order"]
    search_fields = ["phone", "payment__provider_reference"]
    search_help_text = _("An order reference (UC00000042), a phone or a provider reference.")
    inlines = [InstalmentInline]
    fields = ["payment", "kind", "status", "amount", "currency", "phone", "created_at"]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        match = ORDER_REFERENCE.match(search_term or "")
        if match:
            return queryset.filter(payment__order_id=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "gateway", "type", "event_id", "provider_reference", "result"]
    list_filter = ["gateway", "type", "result", "signature_verified"]
    search_fields = ["event_id", "provider_reference"]
    date_hierarchy = "received_at"
    fields = [
        "gateway",
        "event_id",
        "type",
        "provider_reference",
        "signature_verified",
        "received_at",
        "processed_at",
        "result",
        "payload",
    ]
    readonly_fields = fields


def _resend(link: PaymentLink, *, user) -> None:
    payment_link_resend(link=link, user=user)


def _cancel(link: PaymentLink, *, user) -> None:
    payment_link_cancel(link=link, user=user)


class PaymentLinkCreateForm(forms.Form):
    """What staff give to send a link: the order, the phone, and optionally an amount
    (the order's outstanding amount by default) and the customer's language."""

    order = forms.CharField(
        label=_("order"), max_length=20, help_text=_("Its reference (UC00000042) or number.")
    )
    phone = forms.CharField(label=_("phone"), max_length=32)
    amount = forms.DecimalField(
        label=_("amount"),
        required=False,
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=_("Leave empty for what the order still owes."),
    )
    language = forms.ChoiceField(
        label=_("language"), choices=[("fr", _("French")), ("en", _("English"))]
    )

    def clean_order(self) -> Order:
        raw = self.cleaned_data["order"].strip()
        match = ORDER_REFERENCE.match(raw) or re.fullmatch(r"(\d{1,12})", raw)
        order = Order.objects.filter(pk=int(match.group(1))).first() if match else None
        if order is None:
            raise forms.ValidationError(_("No such order."))
        return order

    def clean_phone(self) -> str:
        try:
            return phone_e164(self.cleaned_data["phone"])
        except InvalidPhone as error:
            raise forms.ValidationError(error.message) from None


@admin.register(PaymentLink)
class PaymentLinkAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_scope = staticmethod(_of_visible_orders("order"))

    list_display = [
        "created_at",
        "order",
        "amount",
        "currency",
        "status",
        "sms_status",
        "phone",
        "sends",
        "expires_at",
        "paid_at",
        "channel",
    ]
    list_filter = ["status", "channel", "language", "created_at"]
    list_select_related = ["order", "channel"]
    search_fields = ["phone"]
    search_help_text = _("An order reference (UC00000042) or a phone number.")
    date_hierarchy = "created_at"
    actions = ["resend_links", "cancel_links"]
    fields = [
        "order",
        "amount",
        "currency",
        "status",
        "sms_status",
        "phone",
        "language",
        "expires_at",
        "channel",
        "payment",
        "message_id",
        "sends",
        "created_at",
        "created_by",
        "sent_at",
        "opened_at",
        "paid_at",
        "cancelled_at",
    ]
    readonly_fields = fields

    def save_model(self, request, obj, form, change) -> None:
        """Every field is read-only: links change through the actions (services) only."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        by_order = _order_search(queryset, search_term)
        if by_order is not None:
            return by_order, False
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request, object_id, from_field=None):
        link = super().get_object(request, object_id, from_field)
        return payment_link_current(link) if link is not None else None

    @admin.display(description=_("SMS"))
    def sms_status(self, link: PaymentLink) -> str:
        return payment_link_sms_status(link) or "—"

    def add_view(self, request, form_url="", extra_context=None):
        """Create a link through ``payment_link_create`` (it is sent by SMS at once)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"language": "fr", "order": request.GET.get("order")}
        form = PaymentLinkCreateForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                link, _token = payment_link_create(
                    order=data["order"],
                    amount=data["amount"],
                    phone=data["phone"],
                    language=data["language"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.log_addition(request, link, [{"added": {}}])
                self.message_user(
                    request,
                    _("Payment link of %(amount)s %(currency)s sent by SMS to %(phone)s.")
                    % {"amount": link.amount, "currency": link.currency, "phone": link.phone},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:payments_paymentlink_change", args=[link.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send a payment link"),
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "payments/admin/payment_link_add.html", context)

    @admin.action(description=_("Send again by SMS (new link, the old one stops working)"))
    def resend_links(self, request, queryset) -> None:
        self._each(request, queryset, partial(_resend, user=request.user))

    @admin.action(description=_("Cancel"))
    def cancel_links(self, request, queryset) -> None:
        self._each(request, queryset, partial(_cancel, user=request.user))

    def _each(self, request, queryset, act) -> None:
        if not request.user.has_perm("payments.change_paymentlink"):
            raise PermissionDenied
        done = 0
        for link in queryset.order_by("pk"):
            try:
                act(link)
            except DomainError as error:
                self.message_user(request, f"{link}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d payment link done.", "%(count)d payment links done.", done)
                % {"count": done},
                messages.SUCCESS,
            )


# The payments dashboard (payments/admin/dashboard.py, H11) at <admin>/payments/dashboard/.
payments_dashboard_register(admin.site)
