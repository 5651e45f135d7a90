from django.contrib.admin import AdminSite
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class UnicommerceAdminSite(AdminSite):
    """The back-office: one dashboard for every channel."""

    site_header = _("Unicommerce back-office")
    site_title = _("Unicommerce")
    index_title = _("Dashboard")

    def logout(self, request, extra_context=None):
        """Logging out of the back-office lands on its own log-in page, not on the POS's
        (``LOGOUT_REDIRECT_URL``, which is the tills' way out)."""
        from django.contrib.auth.views import LogoutView

        request.current_app = self.name
        return LogoutView.as_view(
            next_page=reverse("admin:login", current_app=self.name),
            extra_context={
                **self.each_context(request),
                "has_permission": False,  # not logged out yet while the context is built
                **(extra_context or {}),
            },
        )(request)
