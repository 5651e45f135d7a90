from django.apps import AppConfig


class CrmConfig(AppConfig):
    """The customer as the whole shop sees them: the 360° view, the figures and RFM
    segments, the GDPR export, and the merge and erasure that every app takes part in.

    customers keeps the person (contact details, consents, sign-in); orders, payments
    and loyalty keep what they hold about them. crm sits above all of them (below pos)
    so it can call each one's ``<app>_customer_reassign`` / ``<app>_customer_erase``
    explicitly, in one transaction, instead of the lower apps broadcasting signals."""

    name = "crm"
    label = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from crm import events  # noqa: F401 - registers crm's outbox subscriptions
