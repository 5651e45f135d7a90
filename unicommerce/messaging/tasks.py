"""Messaging work for the Celery workers (queue ``messaging``: a slow SMS provider only
delays other messages, never the stock sync or the webhooks)."""

from dataclasses import asdict

from celery import shared_task

from unicommerce.messaging.services import message_deliver, messages_prune, messages_sweep


@shared_task(name="messaging.send", time_limit=60, soft_time_limit=50)
def message_send_task(message_id: int) -> str:
    """Send one message. Idempotent: a message already sent, failed, not yet due or
    being sent by another worker is skipped; retries are scheduled by the service."""
    return message_deliver(message_id=message_id)


@shared_task(name="messaging.sweep", time_limit=60, soft_time_limit=50)
def messages_sweep_task() -> dict:
    """Beat: hand back abandoned claims, enqueue queued messages whose task was lost."""
    return asdict(messages_sweep())


@shared_task(name="messaging.prune", time_limit=600, soft_time_limit=570)
def messages_prune_task() -> int:
    """Beat, nightly: messages past ``MESSAGE_KEEP_DAYS``."""
    return messages_prune()
