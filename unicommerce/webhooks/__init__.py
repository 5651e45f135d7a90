"""Outgoing webhooks: channels subscribe endpoints to event types; deliveries are signed,
coalesced per key, retried with back-off and logged (see docs/webhooks.md)."""
