from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class UnicommerceConfig(AppConfig):
    """The project package as an app: its templatetags (money), management commands
    (demo data, translations) and static files."""

    name = "unicommerce"
    verbose_name = "Unicommerce"


class UnicommerceAdminConfig(AdminConfig):
    default_site = "unicommerce.admin_site.UnicommerceAdminSite"
