from django.contrib import admin

from pos.models import Register


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location", "channel", "is_active"]
    list_filter = ["location", "is_active"]
    search_fields = ["code", "name"]
