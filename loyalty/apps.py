from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Store credit as a ledger (now); points, vouchers and gift cards arrive with their issue."""

    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        # A merge moves the ledger's balance by new rows; the rows themselves stay.
        from customers.models import Customer
        from customers.registry import merge_rows_stay
        from customers.signals import customer_merging
        from loyalty.models import StoreCreditEntry
        from loyalty.services import on_customer_merging

        merge_rows_stay(StoreCreditEntry)
        customer_merging.connect(
            on_customer_merging, sender=Customer, dispatch_uid="loyalty.store_credit_merge"
        )
