"""Start-up wiring between apps that may not import each other.

Privacy (``privacy_wire``): customers' ``customer_erased`` reaches payments'
``payments_customer_erase`` and the API's ``idempotency_records_erase`` (customers may
import neither: both sit above it), and importing their modules registers their
retention tasks (``payments.provider_events_prune``, ``api.idempotency_records_prune``).
Called once from ``UnicommerceConfig.ready()`` (all models are loaded by then).

(Store credit, once wired here, is payments' own now: ``payments.gateways.store_credit``
and ``payments.services.refund_methods.store_credit_refund``, registered by
``PaymentsConfig.ready()``: loyalty sits below payments.)
"""

from __future__ import annotations

from customers.models import Customer


def _api_customer_erased(sender, *, customer, customer_ids=None, identity=None, **kwargs):
    from unicommerce.api.idempotency import idempotency_records_erase

    idempotency_records_erase(customer_ids=customer_ids or [customer.pk], identity=identity)


def privacy_wire() -> None:
    """Plug payments' and the API's parts of a customer's erasure into customers'
    ``customer_erased``, and register their retention tasks."""
    from customers.signals import customer_erased
    from payments import privacy as payments_privacy
    from unicommerce.api import idempotency  # noqa: F401 - registers its prune task

    customer_erased.connect(
        payments_privacy.on_customer_erased, sender=Customer, dispatch_uid="payments.erase"
    )
    customer_erased.connect(_api_customer_erased, sender=Customer, dispatch_uid="api.erase")


def wire() -> None:
    """Everything this module plugs in (called from ``UnicommerceConfig.ready``)."""
    privacy_wire()


__all__ = ["privacy_wire", "wire"]
