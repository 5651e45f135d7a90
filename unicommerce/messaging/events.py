"""Messaging's events: what it publishes (it subscribes to nothing)."""

from unicommerce.events.registry import topic

MESSAGE_SENT = topic(
    "message.sent",
    payload={
        "message_id": "the message the provider accepted",
        "kind": "what it was about (payment_link, instalment_reminder…)",
    },
    doc="The worker sent a message: its backend accepted it (status sent, sent_at set).",
)
