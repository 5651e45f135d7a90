"""Back-office for the sales channels and their API keys. A key is created through
``api_key_create`` and shown once; only its hash is kept."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from unicommerce.channels import services
from unicommerce.channels.models import ApiKey, SalesChannel


@admin.register(SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "channel", "kind", "user"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].required = False  # secret unless publishable is chosen

    def clean(self):
        data = super().clean()
        data["kind"] = data.get("kind") or ApiKey.Kind.SECRET
        if bool(data.get("channel")) == bool(data.get("user")):
            raise ValidationError(_("A key acts either as a channel or as a staff user."))
        if data.get("user") and data.get("kind") == ApiKey.Kind.PUBLISHABLE:
            raise ValidationError(
                {"kind": _("A staff member's key acts as that person: it must be secret.")}
            )
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown once; only their hash is kept."""

    form = ApiKeyForm
    list_display = [
        "name",
        "channel",
        "kind",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["channel", "kind", ("revoked_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj:
            return ["name", "channel", "kind", "user", *self.readonly_fields]
        return ["name", "channel", "kind", "user"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "channel", "kind", "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, raw_key = services.api_key_create(
            name=obj.name,
            channel=form.cleaned_data["channel"],
            user=form.cleaned_data["user"],
            kind=form.cleaned_data["kind"],
        )
        obj.pk = api_key.pk
        messages.warning(
            request,
            _("Copy this key now, it will not be shown again: %(key)s") % {"key": raw_key},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
