from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Store credit as a ledger (now); points, vouchers and gift cards arrive with their issue."""

    name = "loyalty"
    verbose_name = _("Loyalty")
