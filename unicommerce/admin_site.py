from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _


class UnicommerceAdminSite(AdminSite):
    """The back-office: one dashboard for every channel."""

    site_header = _("Unicommerce back-office")
    site_title = _("Unicommerce")
    index_title = _("Dashboard")
