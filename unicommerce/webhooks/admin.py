"""Back-office for outgoing webhooks: the channels' endpoints, and the delivery log.

Endpoints are created, changed, enabled, disabled and given a new secret through
unicommerce.webhooks.services, so the admin accepts exactly what the API accepts. The
delivery log is read-only: deliveries are made by the publishers, never by hand; the
one thing staff may do is send one again ("redeliver").
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from unicommerce.exceptions import DomainError
from unicommerce.webhooks import services
from unicommerce.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# --------------------------------------------------------------------------- endpoints


def _event_type_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {about}") for name, about in sorted(services.EVENT_TYPES.items())]


class EndpointForm(forms.ModelForm):
    """URL and event types are checked by the services (the same rules as the API) and
    saved by them; the model's own URL validator is not used, it disagrees on details."""

    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("Where deliveries are POSTed: http:// or https://."),
        widget=forms.URLInput(attrs={"class": "vURLField"}),
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("event types"),
        choices=_event_type_choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["channel", "description"]  # url and event types: see above

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("url", self.instance.url)
            self.initial.setdefault("event_types", list(self.instance.event_types))

    def clean_url(self) -> str:
        try:
            return services.webhook_url_check(self.cleaned_data["url"])
        except services.WebhookUrlInvalid as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean(self):
        cleaned = super().clean()
        channel = cleaned.get("channel")
        if self.instance.pk is None and channel is not None:
            try:
                services.endpoint_room_check(channel=channel)
            except services.TooManyEndpoints as error:
                self.add_error("channel", forms.ValidationError(error.message, code=error.code))
        return cleaned


class EventTypeFilter(admin.SimpleListFilter):
    title = gettext_lazy("event type")
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(services.EVENT_TYPES)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_types__contains=[self.value()])
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    exclude = ["url", "event_types"]  # the form's own fields, not the model's (see the form)
    list_display = [
        "url",
        "channel",
        "event_type_list",
        "state",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "delivery_log",
    ]
    list_filter = ["is_active", "channel", EventTypeFilter]
    search_fields = ["url", "description", "channel__code", "channel__name"]
    list_select_related = ["channel"]
    save_on_top = True  # see secret_with_rotation
    actions = ["enable_endpoints", "disable_endpoints"]
    status_fields = [
        "is_active",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "created_at",
        "created_by",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["channel", "url", "description", "event_types"]
        return [
            "channel",
            "url",
            "description",
            "event_types",
            self._secret_field(request, obj),
            *self.status_fields,
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A user who may only view gets every field read-only from the admin itself.
        return ["channel", self._secret_field(request, obj), *self.status_fields]

    def _secret_field(self, request, obj) -> str:
        return "secret_with_rotation" if self.has_change_permission(request, obj) else "secret"

    # -- columns

    @admin.display(description=gettext_lazy("event types"))
    def event_type_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description=gettext_lazy("state"), ordering="is_active")
    def state(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.is_active:
            return _("active")
        if endpoint.disabled_reason:
            return _("disabled: %(reason)s") % {"reason": endpoint.disabled_reason}
        return _("disabled")

    @admin.display(description=gettext_lazy("deliveries"))
    def delivery_log(self, endpoint: WebhookEndpoint) -> str:
        log = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">{}</a>', log, endpoint.pk, _("log"))

    @admin.display(description=gettext_lazy("signing secret"))
    def secret_with_rotation(self, endpoint: WebhookEndpoint) -> str:
        # The button sends the change form to the rotation address instead (a form cannot
        # hold another). ``save_on_top`` keeps "Save" the form's first button, the one
        # pressing Enter in a field clicks.
        question = _("The receiver will refuse deliveries until it has the new secret. Go on?")
        return format_html(
            '<code>{}</code> <button type="submit" class="button" formaction="{}" '
            'formnovalidate onclick="return confirm({})">{}</button>'
            '<div class="help">{}</div>',
            endpoint.secret,
            reverse("admin:webhooks_webhookendpoint_rotate_secret", args=[endpoint.pk]),
            json.dumps(str(question)),
            _("Rotate the secret"),
            _("Deliveries are signed with it (HMAC-SHA256); give it to the receiver."),
        )

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
            services.endpoint_update(
                endpoint=obj,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
            )
            return
        created = services.endpoint_create(
            channel=data["channel"],
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
            user=request.user,
        )
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    # -- rotating the secret

    def get_urls(self):
        return [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="webhooks_webhookendpoint_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self.get_object(request, object_id)
        if endpoint is None:
            raise Http404
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        services.endpoint_rotate_secret(endpoint=endpoint)
        self.log_change(request, endpoint, [{"changed": {"fields": ["secret"]}}])
        self.message_user(
            request,
            _("The secret of %(url)s was rotated: give the new one to the receiver.")
            % {"url": endpoint.url},
            messages.WARNING,
        )
        return HttpResponseRedirect(
            reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
        )

    # -- list actions

    @admin.action(description=gettext_lazy("Enable the selected endpoints"), permissions=["change"])
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_enable(endpoint=endpoint)
            self.log_change(request, endpoint, [{"changed": {"fields": ["is_active"]}}])
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint enabled; what waited for it is sent now.",
                "%(count)d endpoints enabled; what waited for them is sent now.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )

    @admin.action(
        description=gettext_lazy("Disable the selected endpoints"), permissions=["change"]
    )
    def disable_endpoints(self, request, queryset):
        reason = _("Disabled in the back-office by %(user)s.") % {"user": request.user}
        for endpoint in queryset:
            services.endpoint_disable(endpoint=endpoint, reason=reason)
            self.log_change(request, endpoint, [{"changed": {"fields": ["is_active"]}}])
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint disabled; the latest change of each item is kept for it.",
                "%(count)d endpoints disabled; the latest change of each item is kept for them.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )


# --------------------------------------------------------------------------- deliveries


class AttemptInline(admin.TabularInline):
    """Every HTTP call of the delivery, newest first."""

    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "error",
        "response_excerpt",
        "version",
        "event_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "channel",
        "event_type",
        "key",
        "version",
        "status",
        "attempts",
        "coalesced",
        "created_at",
        "updated_at",
        "delivered_at",
        "last_status_code",
    ]
    list_display_links = ["id", "key"]
    list_filter = ["status", "event_type", "endpoint__channel", "endpoint"]
    search_fields = ["key", "event_id__exact", "endpoint__url"]
    list_select_related = ["endpoint__channel"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log is long; counting it all is slow
    fields = [
        "endpoint",
        "event_type",
        "key",
        "version",
        "event_id",
        "status",
        "attempts",
        "coalesced",
        "first_change_at",
        "created_at",
        "updated_at",
        "next_attempt_at",
        "claimed_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload_pretty",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the prune job forgets old deliveries; dead letters stay to be seen

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.display(description=gettext_lazy("channel"), ordering="endpoint__channel__code")
    def channel(self, delivery: WebhookDelivery) -> str:
        return delivery.endpoint.channel.code

    @admin.display(description=gettext_lazy("payload"))
    def payload_pretty(self, delivery: WebhookDelivery) -> str:
        text = json.dumps(delivery.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="margin: 0; white-space: pre-wrap;">{}</pre>', text)

    @admin.action(
        description=gettext_lazy("Send the selected deliveries again"),
        permissions=["redeliver"],
    )
    def redeliver(self, request, queryset):
        sent = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                services.delivery_redeliver(delivery=delivery)
            except DomainError as error:
                self.message_user(request, f"{delivery}: {error.message}", messages.ERROR)
                continue
            sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery will be sent again, with its event id.",
                    "%(count)d deliveries will be sent again, with their event id.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )
