from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from unicommerce.events.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "topic", "processed_at", "attempts", "last_error_short"]
    list_filter = ["topic", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "topic"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: OutboxEvent) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
