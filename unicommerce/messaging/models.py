"""One row per message to a customer, and how sending it went.

``customer_id`` is a plain integer, not a foreign key: messaging sits below customers
(orders and payments send through it), so it knows nothing of their models.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    """An SMS or an e-mail, queued in the caller's transaction, sent by a worker.

    Life: ``queued`` → ``sending`` (claimed by one worker) → ``sent``, or back to
    ``queued`` with a back-off after a temporary failure, or ``failed`` for good.
    ``dedup_key`` names the business event (say ``order.ready_for_pickup:R-123``): the
    same event never queues a second message.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("e-mail")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    to = models.CharField(
        _("to"), max_length=254, help_text=_("An E.164 phone number or an e-mail address.")
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    redact_after_send = models.BooleanField(
        _("forget the text once sent"),
        default=False,
        help_text=_("The text carries a secret (a payment link): it is not kept once sent."),
    )
    kind = models.CharField(
        _("kind"), max_length=100, help_text=_("What the message is about, e.g. order.ready.")
    )
    customer_id = models.BigIntegerField(_("customer id"), null=True, blank=True)
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("E.g. the order reference.")
    )
    dedup_key = models.CharField(
        _("deduplication key"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The same business event never sends twice."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(
        _("provider id"), max_length=200, blank=True, help_text=_("Given by the backend.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer message")
        verbose_name_plural = _("customer messages")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["sms", "email"]), name="message_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed"]),
                name="message_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="message_sending_is_claimed",
            ),
        ]
        indexes = [
            # What the sweep reads: the queued rows by due time, the claims by age.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="queued"), name="message_due_idx"
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="message_sending_idx"
            ),
            models.Index(fields=["customer_id"], name="message_customer_idx"),
            models.Index(fields=["reference"], name="message_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} → {self.to}"

    @property
    def idempotency_key(self) -> str:
        """Given to the backend with every attempt: a provider that honours it sends a
        message once even when a worker died after handing it over and it is sent again."""
        return f"unicommerce-message-{self.pk}"
