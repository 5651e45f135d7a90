"""Back-office: the messages sent to customers, read-only (they are written by the
services of orders and payments, and sent by the workers, never by hand)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from unicommerce.messaging.models import Message
from unicommerce.messaging.services import REDACTED


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "channel",
        "kind",
        "to",
        "reference",
        "status",
        "attempts",
        "sent_at",
        "last_error_short",
    ]
    list_filter = ["channel", "status", "kind"]
    search_fields = ["to", "reference"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log is long; counting it all is slow
    fields = [
        "channel",
        "to",
        "subject",
        "body_shown",
        "redact_after_send",
        "kind",
        "customer_id",
        "reference",
        "dedup_key",
        "status",
        "attempts",
        "last_error",
        "provider_id",
        "created_at",
        "claimed_at",
        "sent_at",
        "next_attempt_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("body"))
    def body_shown(self, message: Message) -> str:
        """A text carrying a secret (a payment link, a code) is never shown, not even
        while it waits to be sent: whoever reads the back office must not be able to
        pay, sign in or collect in the customer's place."""
        if message.redact_after_send:
            return REDACTED
        return message.body

    @admin.display(description=_("last error"))
    def last_error_short(self, message: Message) -> str:
        return message.last_error[:80]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
