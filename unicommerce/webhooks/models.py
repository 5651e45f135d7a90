"""Webhook endpoints of the sales channels, and the deliveries made to them.

A delivery is one message for one *key* (for stock: one variant). While it waits to be
sent, a newer change of the same key replaces its content (coalescing): at most one
pending delivery exists per endpoint and key, enforced by a partial unique index.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    """A URL of a channel's system that hears about the event types it subscribed to."""

    channel = models.ForeignKey(
        "channels.SalesChannel",
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        help_text=_("Used to sign every delivery (HMAC-SHA256); give it to the receiver."),
    )
    event_types = ArrayField(models.CharField(max_length=50), verbose_name=_("event types"))
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["channel", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """The latest content to send for one key to one endpoint, and how sending went."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("being sent")
        DELIVERED = "delivered", _("delivered")
        SUPERSEDED = "superseded", _("replaced by a newer update")
        DEAD = "dead", _("given up (dead letter)")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.UUIDField(
        _("event id"),
        default=uuid.uuid4,
        unique=True,
        help_text=_("Sent with every attempt; a receiver uses it to ignore duplicates."),
    )
    event_type = models.CharField(_("event type"), max_length=50)
    key = models.CharField(_("key"), max_length=100)
    version = models.BigIntegerField(_("version"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    coalesced = models.PositiveIntegerField(
        _("changes folded in"), default=1, help_text=_("How many changes this delivery carries.")
    )
    first_change_at = models.DateTimeField(_("first change at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("content updated at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "key"],
                condition=Q(status="pending"),
                name="webhook_one_pending_per_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_due_idx",
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="webhook_sending_idx"
            ),
            models.Index(fields=["endpoint"], condition=Q(status="dead"), name="webhook_dead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.key} v{self.version}"


class WebhookAttempt(models.Model):
    """One HTTP call of a delivery: the delivery log."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    number = models.PositiveIntegerField(_("attempt"))
    event_id = models.UUIDField(_("event id"))
    version = models.BigIntegerField(_("version"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    response_excerpt = models.CharField(_("response (start)"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
