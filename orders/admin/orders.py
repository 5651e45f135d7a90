"""Back-office for carts, orders and returns.

Orders are read-only here except through the fulfilment services: list actions (start
picking, packed, ready for pickup, cancel) and buttons per shipment on the order page;
shipping asks for the carrier and tracking number, and handing over a click & collect
order asks for the customer's pickup code, each on a small page. Refusals come back as
messages or form errors, never as server errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from babel import Locale, UnknownLocaleError
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from customers.phones import phone_display
from inventory.admin.scoping import StoreScopedAdmin
from orders.models import (
    Cart,
    CartLine,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    Return,
    ReturnLine,
    Shipment,
)
from orders.payment_methods import payment_methods_by_code
from orders.selectors import carts_visible_to, orders_visible_to, returns_visible_to
from orders.services.cancellation import order_cancel
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.fulfilment import (
    SHIPMENT_ALLOWED,
    shipment_action_allowed,
    shipment_pack,
    shipment_pick_start,
    shipment_ship,
)
from unicommerce.exceptions import DomainError
from unicommerce.money import money_format

REFERENCE = re.compile(r"^UC0*(\d+)$", re.IGNORECASE)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    verbose_name = gettext_lazy("order line")
    verbose_name_plural = gettext_lazy("order lines")
    fields = [
        "sku",
        "name",
        "quantity",
        "unit_price_amount",
        "vat_rate",
        "total_amount",
        "fulfilment",
        "location",
        "status",
        "shipment",
    ]
    readonly_fields = fields


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = [
        "kind",
        "location",
        "status",
        "carrier",
        "tracking_number",
        "picked_at",
        "packed_at",
        "shipped_at",
        "ready_at",
        "collected_at",
    ]
    readonly_fields = fields


#: The timeline's entries in words (kept with the model, which names itself with them).
EVENT_KINDS = OrderEvent.KIND_LABELS


#: Entries that record a move from one status to another (the others say it in words).
TRANSITION_KINDS = {"status", "payment"}


def event_kind_label(kind: str) -> str:
    """``"partially_fulfilled"``-style codes never reach the page."""
    label = EVENT_KINDS.get(kind)
    if label is not None:
        return str(label)
    if kind.startswith("shipment_") and kind[9:] in Shipment.Status.values:
        return capfirst(str(Shipment.Status(kind[9:]).label))
    return capfirst(kind.replace("_", " "))


def status_label(kind: str, status: str) -> str:
    """A status code of a timeline entry as its label: the payment statuses for a
    ``payment`` entry, the order's statuses otherwise."""
    choices = Order.PaymentStatus if kind == "payment" else Order.Status
    if status in choices.values:
        return capfirst(str(choices(status).label))
    return capfirst(status.replace("_", " "))


def event_description(event: OrderEvent) -> str:
    """ "Status: Processing → Partially fulfilled", "Shipped", …"""
    what = event_kind_label(event.kind)
    if event.kind in TRANSITION_KINDS and (event.from_status or event.to_status):
        before = status_label(event.kind, event.from_status) if event.from_status else "—"
        after = status_label(event.kind, event.to_status) if event.to_status else "—"
        return f"{what}: {before} → {after}"
    return what


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = gettext_lazy("timeline")
    fields = ["at", "what", "message", "channel", "actor"]
    readonly_fields = fields

    @admin.display(description=pgettext_lazy("order timeline", "what"))
    def what(self, event: OrderEvent) -> str:
        return event_description(event)


def postal_address(address: dict | None) -> str:
    """The order's address snapshot as a label would print it: name, street lines,
    postal code and city, the country by name (in the page's language), the phone."""
    if not address:
        return "—"
    name = " ".join(filter(None, (address.get("first_name"), address.get("last_name"))))
    town = " ".join(filter(None, (address.get("postal_code"), address.get("city"))))
    country = address.get("country") or ""
    phone = address.get("phone") or ""
    lines = [
        name,
        address.get("line1") or "",
        address.get("line2") or "",
        town,
        country_name(country),
        phone_display(phone) if phone else "",
    ]
    return format_html(
        '<address class="postal-address">{}</address>',
        format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line)),
    )


def country_name(code: str) -> str:
    """ "FR" → "France" (fr) / "France" (en), "BE" → "Belgique" / "Belgium"; an unknown
    code stays as it is."""
    if not code:
        return ""
    try:
        locale = Locale.parse((get_language() or "en").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale("en")
    return locale.territories.get(code.upper(), code)


class FulfilmentKindFilter(admin.SimpleListFilter):
    title = gettext_lazy("fulfilment")
    parameter_name = "fulfilment"

    def lookups(self, request, model_admin):
        return Fulfilment.choices

    def queryset(self, request, queryset):
        if self.value() in Fulfilment.values:
            return queryset.filter(
                pk__in=OrderLine.objects.filter(fulfilment=self.value()).values("order_id")
            )
        return queryset


class ShipForm(forms.Form):
    carrier = forms.CharField(label=gettext_lazy("carrier"), max_length=50)
    tracking_number = forms.CharField(label=gettext_lazy("tracking number"), max_length=100)
    lines = forms.ModelMultipleChoiceField(
        label=gettext_lazy("lines in the parcel"),
        queryset=OrderLine.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Lines left out move to a new shipment, still reserved."),
    )

    def __init__(self, *args, shipment: Shipment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        open_lines = OrderLine.objects.filter(shipment=shipment, status=OrderLine.Status.OPEN)
        self.fields["lines"].queryset = open_lines
        self.fields["lines"].initial = list(open_lines)
        self.fields["lines"].label_from_instance = lambda line: f"{line.quantity} × {line.sku}"


class CollectForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("pickup code"),
        max_length=20,
        help_text=gettext_lazy("The code the customer received by SMS or e-mail."),
    )


#: The order page's buttons that post at once: action → (service, label).
STEP_SERVICES: dict[str, tuple[Callable, str]] = {
    "pick": (shipment_pick_start, gettext_lazy("Start picking")),
    "pack": (shipment_pack, gettext_lazy("Mark packed")),
    "ready": (shipment_ready, gettext_lazy("Ready for pickup")),
}


@admin.register(Order)
class OrderAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_scope = staticmethod(orders_visible_to)  # their stores' orders (head office: all)

    # Seven narrow columns, so the list fits beside the filters at 1366 px: the channel
    # says where the cart was filled only when that was elsewhere; the total carries its
    # currency.
    list_display = [
        "order_reference",
        "created_short",
        "customer_shown",
        "channels_shown",
        "status",
        "payment_status",
        "total_shown",
    ]
    list_display_links = ["order_reference"]
    list_filter = ["status", "payment_status", "channel", "origin_channel", FulfilmentKindFilter]
    search_fields = ["email", "phone", "customer__email", "customer__phone", "lines__sku"]
    search_help_text = gettext_lazy("Reference (UC…), e-mail, phone or SKU.")
    date_hierarchy = "created_at"
    list_select_related = ["channel", "origin_channel", "customer"]
    readonly_fields = [
        "order_reference",
        "channel",
        "origin_channel",
        "customer",
        "cart_shown",
        "status",
        "payment_status",
        "total_shown",
        "payment_method_shown",
        "email",
        "phone",
        "shipping_address_shown",
        "created_at",
        "created_by",
    ]
    fields = readonly_fields
    inlines = [OrderLineInline, ShipmentInline, OrderEventInline]
    actions = ["action_pick", "action_pack", "action_ready", "action_cancel"]
    change_form_template = "admin/orders/order/change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        match = REFERENCE.match(search_term.strip())
        if match:
            return queryset.filter(pk=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    # --- What the list and the page show ----------------------------------------------

    @admin.display(description=gettext_lazy("reference"), ordering="id")
    def order_reference(self, order: Order) -> str:
        return order.reference

    @admin.display(description=gettext_lazy("Date"), ordering="created_at")
    def created_short(self, order: Order) -> str:
        return date_format(timezone.localtime(order.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=gettext_lazy("customer"), ordering="customer__last_name")
    def customer_shown(self, order: Order) -> str:
        if order.customer_id is not None:
            return str(order.customer)
        return order.email or (phone_display(order.phone) if order.phone else "—")

    @admin.display(description=gettext_lazy("channel"), ordering="channel__name")
    def channels_shown(self, order: Order) -> str:
        if order.origin_channel_id in (None, order.channel_id):
            return str(order.channel)
        return format_html(
            '{}<br><small class="quiet">{}</small>',
            order.channel,
            _("cart filled on %(channel)s") % {"channel": order.origin_channel},
        )

    @admin.display(description=gettext_lazy("Total"), ordering="total_amount")
    def total_shown(self, order: Order) -> str:
        return money_format(order.total_amount, order.currency, get_language() or "en")

    @admin.display(description=gettext_lazy("cart"))
    def cart_shown(self, order: Order) -> str:
        if order.cart_id is None:
            return "—"
        url = reverse("admin:orders_cart_change", args=[order.cart_id])
        return format_html('<a href="{}">{}</a>', url, order.cart)

    @admin.display(description=gettext_lazy("payment method"))
    def payment_method_shown(self, order: Order) -> str:
        """The method's label ("Pay in store"), never its code."""
        if not order.payment_method:
            return "—"
        method = payment_methods_by_code().get(order.payment_method)
        if method is None:
            return capfirst(order.payment_method.replace("_", " "))
        return str(method.label)

    @admin.display(description=gettext_lazy("shipping address"))
    def shipping_address_shown(self, order: Order) -> str:
        return postal_address(order.shipping_address)

    # --- Running services -----------------------------------------------------------

    def run(self, request, target: Order, service: Callable, **arguments) -> bool:
        """Call a service; a refusal becomes an error message. True when it worked."""
        try:
            service(user=request.user, **arguments)
        except DomainError as error:
            self.message_user(request, f"{target}: {error.message}", messages.ERROR)
            return False
        self.log_change(request, target, getattr(service, "__name__", ""))
        return True

    def _shipments_action(self, request, queryset, action: str, label: str) -> None:
        statuses, kinds = SHIPMENT_ALLOWED[action]
        service = STEP_SERVICES[action][0]
        done = 0
        for order in queryset:
            shipments = Shipment.objects.filter(order=order, status__in=statuses, kind__in=kinds)
            for shipment in shipments:
                done += self.run(request, order, service, shipment=shipment)
        if done:
            self.message_user(
                request,
                _("%(label)s: %(count)s shipment(s).") % {"label": label, "count": done},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("No shipment could take this step."), messages.WARNING)

    @admin.action(description=gettext_lazy("Start picking their shipments"))
    def action_pick(self, request, queryset) -> None:
        self._shipments_action(request, queryset, "pick", _("Picking started"))

    @admin.action(description=gettext_lazy("Mark their shipments being picked as packed"))
    def action_pack(self, request, queryset) -> None:
        self._shipments_action(request, queryset, "pack", _("Packed"))

    @admin.action(
        description=gettext_lazy("Click & collect: ready for pickup (tells the customer)")
    )
    def action_ready(self, request, queryset) -> None:
        self._shipments_action(request, queryset, "ready", _("Ready for pickup"))

    @admin.action(description=gettext_lazy("Cancel what is not yet fulfilled"))
    def action_cancel(self, request, queryset) -> None:
        done = sum(self.run(request, order, order_cancel, order=order) for order in queryset)
        if done:
            self.message_user(
                request, _("%(count)s order(s) cancelled.") % {"count": done}, messages.SUCCESS
            )

    # --- Pages per order and shipment -----------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name=f"{name}_cancel"),
            path(
                "<path:object_id>/shipments/<int:shipment_id>/ship/",
                wrap(self.ship_view),
                name=f"{name}_ship",
            ),
            path(
                "<path:object_id>/shipments/<int:shipment_id>/collect/",
                wrap(self.collect_view),
                name=f"{name}_collect",
            ),
            path(
                "<path:object_id>/shipments/<int:shipment_id>/do/<str:action>/",
                wrap(self.step_view),
                name=f"{name}_step",
            ),
            *super().get_urls(),
        ]

    def order_for(self, request, object_id: str) -> Order:
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        return order

    def shipment_for(self, request, object_id: str, shipment_id: int) -> tuple[Order, Shipment]:
        order = self.order_for(request, object_id)
        shipment = (
            Shipment.objects.filter(order=order, pk=shipment_id).select_related("location").first()
        )
        if shipment is None:
            raise Http404
        return order, shipment

    def order_url(self, order: Order) -> str:
        return reverse("admin:orders_order_change", args=[order.pk])

    def step_view(self, request, object_id: str, shipment_id: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in STEP_SERVICES:
            raise Http404
        order, shipment = self.shipment_for(request, object_id, shipment_id)
        service, label = STEP_SERVICES[action]
        if self.run(request, order, service, shipment=shipment):
            self.message_user(
                request, _("%(order)s: %(label)s.") % {"order": order, "label": label}
            )
        return HttpResponseRedirect(self.order_url(order))

    def cancel_view(self, request, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.order_for(request, object_id)
        reason = request.POST.get("reason", "")[:255]
        if self.run(request, order, order_cancel, order=order, reason=reason):
            self.message_user(request, _("%(order)s: cancelled.") % {"order": order})
        return HttpResponseRedirect(self.order_url(order))

    def _form_page(self, request, order, shipment, form, template: str, title: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": order,
            "shipment": shipment,
            "form": form,
            "title": title,
            "has_view_permission": True,
        }
        return TemplateResponse(request, template, context)

    def ship_view(self, request, object_id: str, shipment_id: int):
        order, shipment = self.shipment_for(request, object_id, shipment_id)
        form = ShipForm(request.POST or None, shipment=shipment)
        if request.method == "POST" and form.is_valid():
            chosen = [line.pk for line in form.cleaned_data["lines"]]
            everything = set(chosen) == {line.pk for line in form.fields["lines"].queryset}
            try:
                shipment_ship(
                    shipment=shipment,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    line_ids=None if everything else chosen,
                    user=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.log_change(request, order, _("Shipment %(id)s shipped") % {"id": shipment.pk})
                self.message_user(request, _("%(order)s: shipped.") % {"order": order})
                return HttpResponseRedirect(self.order_url(order))
        return self._form_page(
            request,
            order,
            shipment,
            form,
            "admin/orders/order/ship.html",
            _("Ship %(order)s from %(location)s") % {"order": order, "location": shipment.location},
        )

    def collect_view(self, request, object_id: str, shipment_id: int):
        order, shipment = self.shipment_for(request, object_id, shipment_id)
        form = CollectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                shipment_collect(
                    shipment=shipment, code=form.cleaned_data["code"], user=request.user
                )
            except DomainError as error:
                form.add_error("code" if error.code == "pickup_code_wrong" else None, error.message)
            else:
                self.log_change(
                    request, order, _("Shipment %(id)s collected") % {"id": shipment.pk}
                )
                self.message_user(request, _("%(order)s: handed over.") % {"order": order})
                return HttpResponseRedirect(self.order_url(order))
        return self._form_page(
            request,
            order,
            shipment,
            form,
            "admin/orders/order/collect.html",
            _("Hand over %(order)s at %(location)s")
            % {"order": order, "location": shipment.location},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        buttons = []
        if order is not None and self.has_change_permission(request, order):
            buttons = self.shipment_buttons(order)
        extra_context = {**(extra_context or {}), "fulfilment_buttons": buttons}
        if order is not None and order.lines.filter(status=OrderLine.Status.OPEN).exists():
            extra_context["cancel_url"] = reverse("admin:orders_order_cancel", args=[order.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def shipment_buttons(self, order: Order) -> list[tuple[str, str, str]]:
        """(url, label, method) per step each shipment may take now."""
        buttons = []
        for shipment in order.shipments.select_related("location").order_by("id"):
            prefix = f"{shipment.get_kind_display()} {shipment.location} #{shipment.pk}: "
            for action, (_service, label) in STEP_SERVICES.items():
                if shipment_action_allowed(shipment, action):
                    url = reverse("admin:orders_order_step", args=[order.pk, shipment.pk, action])
                    buttons.append((url, prefix + str(label), "post"))
            for action, page, label in (
                ("ship", "admin:orders_order_ship", _("Ship…")),
                ("collect", "admin:orders_order_collect", _("Hand over…")),
            ):
                if shipment_action_allowed(shipment, action):
                    buttons.append(
                        (reverse(page, args=[order.pk, shipment.pk]), prefix + label, "get")
                    )
        return buttons


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity", "reason", "restock_location", "amount"]
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_scope = staticmethod(returns_visible_to)

    list_display = [
        "__str__",
        "created_at",
        "order",
        "channel",
        "location",
        "is_cross_channel",
        "outcome",
        "amount",
        "currency",
        "settlement",
    ]
    list_filter = ["is_cross_channel", "outcome", "settlement", "channel", "location"]
    list_select_related = ["order", "channel", "location"]
    search_fields = ["order__email", "order__phone", "lines__order_line__sku"]
    readonly_fields = [
        "order",
        "channel",
        "location",
        "is_cross_channel",
        "outcome",
        "amount",
        "currency",
        "settlement",
        "exchange_order",
        "note",
        "created_at",
        "created_by",
    ]
    fields = readonly_fields
    inlines = [ReturnLineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        match = REFERENCE.match(search_term.strip())
        if match:
            return queryset.filter(order_id=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    readonly_fields = ["variant", "quantity", "added_at"]


@admin.register(Cart)
class CartAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_scope = staticmethod(carts_visible_to)

    list_display = ["token", "channel", "customer", "updated_at", "checked_out_at"]
    list_filter = ["channel", ("checked_out_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "token",
        "channel",
        "customer",
        "currency",
        "created_at",
        "updated_at",
        "checked_out_at",
    ]
    inlines = [CartLineInline]

    def has_add_permission(self, request) -> bool:
        return False
