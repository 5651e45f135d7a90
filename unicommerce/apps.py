from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class UnicommerceConfig(AppConfig):
    """The project package as an app: its templatetags (money), management commands
    (demo data, translations) and static files."""

    name = "unicommerce"
    verbose_name = "Unicommerce"

    def ready(self) -> None:
        from unicommerce import db  # noqa: F401 - registers the ``__any`` lookup

        _forget_permissions_when_they_change()


def _forget_permissions_when_they_change() -> None:
    """A web process remembers staff permissions a few seconds (unicommerce.access.perms):
    a change made through this process (the admin, a script) takes effect in it at
    once; the others follow within ``ACCESS_PERMISSION_CACHE_SECONDS``."""
    from django.contrib.auth.models import Group, User
    from django.db.models.signals import m2m_changed, post_save

    from unicommerce.access.perms import staff_perms_forget

    def forget(*_args, **_kwargs) -> None:
        staff_perms_forget()

    for relation in (User.user_permissions.through, User.groups.through, Group.permissions.through):
        m2m_changed.connect(forget, sender=relation, weak=False)
    post_save.connect(forget, sender=User, weak=False)  # is_superuser, is_active


class UnicommerceAdminConfig(AdminConfig):
    default_site = "unicommerce.admin_site.UnicommerceAdminSite"
