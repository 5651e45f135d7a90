from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Points, vouchers, gift cards and store credit (ledgers): arrives with its issue."""

    name = "loyalty"
    verbose_name = _("Loyalty")
