"""Payments work for the Celery workers."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from payments.gateways import simulated
from payments.services.operations import payment_claims_resume
from payments.services.retention import provider_events_prune
from payments.services.webhooks import provider_event_process


@shared_task(name="payments.simulated_webhook", time_limit=30, soft_time_limit=25)
def simulated_webhook(
    event_id: str, event_type: str, reference: str, amount: str, currency: str
) -> str:
    """Deliver the simulated gateway's delayed confirmation: the signed body a provider
    would post, through the same processing service as the webhook endpoint (a second
    delivery of the same event is a duplicate and changes nothing)."""
    body = simulated.webhook_body(
        event_id=event_id,
        event_type=event_type,
        reference=reference,
        amount=amount,
        currency=currency,
    )
    outcome = provider_event_process(
        gateway="simulated", body=body, headers=simulated.webhook_headers(body)
    )
    return outcome.result


@shared_task(name="payments.claims_resume", time_limit=300, soft_time_limit=280)
def payment_claims_resume_task(older_than_seconds: int = 120) -> int:
    """Settle the payment calls whose answer was lost (see payments.services.operations)."""
    return payment_claims_resume(older_than=timedelta(seconds=older_than_seconds))


@shared_task(name="payments.instalments_collect", time_limit=900, soft_time_limit=870)
def instalments_collect_task() -> dict[str, int]:
    """Charge the instalments that are due (safe to overlap: each part is claimed, and
    each attempt has its own idempotency key)."""
    from payments.services.instalment_collection import instalments_collect

    return instalments_collect()


@shared_task(name="payments.instalment_reminders", time_limit=300, soft_time_limit=280)
def instalment_reminders_task() -> int:
    """SMS reminders a few days before each instalment's due date (once per part)."""
    from payments.services.instalment_collection import instalment_reminders_send

    return instalment_reminders_send()


@shared_task(name="payments.provider_events_prune", time_limit=600, soft_time_limit=570)
def provider_events_prune_task() -> int:
    """Beat, daily: provider webhooks past their retention."""
    return provider_events_prune()


@shared_task(name="payments.links_expire", time_limit=120, soft_time_limit=100)
def payment_links_expire_task() -> int:
    """The beat's job (every minute): see ``payments.services.links.payment_links_expire``."""
    from payments.services.links import payment_links_expire

    return payment_links_expire()
