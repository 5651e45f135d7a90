from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class UnicommerceConfig(AppConfig):
    """The project package as an app: its templatetags (money), management commands
    (demo data, translations) and static files."""

    name = "unicommerce"
    verbose_name = "Unicommerce"

    def ready(self) -> None:
        from unicommerce import db  # noqa: F401 - registers the ``__any`` lookup
        from unicommerce.wiring import wire

        wire()  # plugs loyalty's store credit into payments (siblings: see the module)


class UnicommerceAdminConfig(AdminConfig):
    default_site = "unicommerce.admin_site.UnicommerceAdminSite"
