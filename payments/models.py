"""Payments and their append-only operations ledger (docs/payments.md).

A ``Payment`` is one tender towards an order (split tender: several per order). What
happened to it is a list of ``PaymentOperation`` rows that are never updated or deleted
(a database trigger refuses it); the payment's ``status``, ``captured_amount`` and
``refunded_amount`` are a cache of that ledger, changed only in the transaction that
appends the operation. ``ProviderEvent`` is the deduplication table of provider webhooks.

No card number is ever stored: only the provider's token and reference, and the brand and
last four digits when the provider gives them.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Order
from unicommerce.channels.models import SalesChannel
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs
    )


class Payment(models.Model):
    """Money taken (or being taken) for an order, by one method through one gateway."""

    class Method(models.TextChoices):
        CASH = "cash", _("cash")
        CARD_TERMINAL = "card_terminal", _("card (payment terminal)")
        CARD_ONLINE = "card_online", _("card (online)")
        GIFT_CARD = "gift_card", _("gift card")
        STORE_CREDIT = "store_credit", _("store credit")
        POINTS = "points", _("loyalty points")
        PAYMENT_LINK = "payment_link", _("payment link")
        INSTALMENT = "instalment", _("instalment plan")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        AUTHORISED = "authorised", _("authorised")
        CAPTURED = "captured", _("captured")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        REFUNDED = "refunded", _("refunded")
        VOIDED = "voided", _("voided")
        FAILED = "failed", _("failed")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    captured_amount = _money(_("captured"), default=0)
    refunded_amount = _money(_("refunded"), default=0)
    tendered_amount = _money(_("cash tendered"), null=True, blank=True)
    change_amount = _money(_("change given"), null=True, blank=True)
    gateway = models.CharField(_("gateway"), max_length=30, blank=True)
    provider_reference = models.CharField(
        _("provider reference"), max_length=255, blank=True, db_index=True
    )
    provider_token = models.CharField(
        _("provider token"),
        max_length=255,
        blank=True,
        help_text=_("The provider's payment-method token (never a card number)."),
    )
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4 digits"), max_length=4, blank=True)
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(tendered_amount__isnull=True) | Q(tendered_amount__gte=F("amount")),
                name="payment_tendered_covers_amount",
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="payment_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunded_within_captured",
            ),
            models.CheckConstraint(
                condition=~Q(gateway="") | Q(method__in=["cash", "card_terminal"]),
                name="payment_remote_method_has_gateway",
            ),
        ]
        indexes = [
            models.Index(fields=["gateway", "provider_reference"], name="payment_provider_ref_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency}"

    def save(self, *args, **kwargs) -> None:
        # A payment created already captured (cash at the till, payments.services.cash) has
        # no operations: it is captured in full from the start.
        if self._state.adding and self.status == self.Status.CAPTURED and not self.captured_amount:
            self.captured_amount = self.amount
        super().save(*args, **kwargs)

    @property
    def refundable_amount(self):
        return self.captured_amount - self.refunded_amount


class PaymentOperation(models.Model):
    """One thing done to a payment, append-only (a trigger refuses UPDATE and DELETE).

    A call to a gateway is two rows: a *claim* (status pending, with the caller's
    idempotency key and the hash of the request), committed before the call, then its
    *outcome* (``resolves`` = the claim; succeeded, failed, or pending when the provider
    confirms later by webhook). A claim without an outcome is a call whose answer was
    lost (crash, timeout): it is resumed with the same provider idempotency key.
    """

    class Kind(models.TextChoices):
        AUTHORISE = "authorise", _("authorise")
        CAPTURE = "capture", _("capture")
        REFUND = "refund", _("refund")
        VOID = "void", _("void")
        FAILURE = "failure", _("failure")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="operations"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    provider_reference = models.CharField(
        _("provider reference"), max_length=255, blank=True, db_index=True
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, null=True, blank=True, unique=True
    )
    request_hash = models.CharField(_("request hash"), max_length=64, blank=True)
    resolves = models.ForeignKey(
        "self",
        verbose_name=_("outcome of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcomes",
    )
    provider_event = models.ForeignKey(
        "ProviderEvent",
        verbose_name=_("provider event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operations",
    )
    error_code = models.CharField(_("error code"), max_length=100, blank=True)
    error_message = models.CharField(_("error message"), max_length=255, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("payment operation")
        verbose_name_plural = _("payment operations")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="payment_op_amount_not_negative"
            ),
            models.UniqueConstraint(
                fields=["resolves"],
                condition=~Q(status="pending"),
                name="payment_op_one_final_outcome",
            ),
        ]
        indexes = [models.Index(fields=["payment", "kind", "status"], name="payment_op_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.amount} {self.currency}"


class ProviderEvent(models.Model):
    """A webhook received from a provider, once per (gateway, event id): the insert under
    the unique constraint is what makes a replayed or duplicated delivery change nothing.
    """

    gateway = models.CharField(_("gateway"), max_length=30)
    event_id = models.CharField(_("event id"), max_length=255)
    type = models.CharField(_("type"), max_length=100)
    provider_reference = models.CharField(
        _("provider reference"), max_length=255, blank=True, db_index=True
    )
    payload = models.JSONField(_("payload"), default=dict)
    signature_verified = models.BooleanField(_("signature verified"), default=False)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"], name="provider_event_unique_per_gateway"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.type} {self.event_id}"


class InstalmentPlan(models.Model):
    """One payment split into dated parts (2x/3x/4x, or deferred D+15/D+30): the plan's
    ``payment`` (method ``instalment``) carries the whole amount, and each part paid is a
    capture operation of that payment. The parts sum exactly to the payment's amount."""

    class Kind(models.TextChoices):
        X2 = "2x", _("2 instalments")
        X3 = "3x", _("3 instalments")
        X4 = "4x", _("4 instalments")
        D15 = "d15", _("pay in 15 days")
        D30 = "d30", _("pay in 30 days")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        COMPLETED = "completed", _("completed")
        LATE = "late", _("late")
        DEFAULTED = "defaulted", _("defaulted")
        CANCELLED = "cancelled", _("cancelled")

    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="plan"
    )
    kind = models.CharField(_("plan"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    provider_token = models.CharField(
        _("provider token"),
        max_length=255,
        blank=True,
        help_text=_("The saved payment method the later parts are charged to (never a card)."),
    )
    phone = models.CharField(_("phone for reminders"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("instalment plan")
        verbose_name_plural = _("instalment plans")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class Instalment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        PROCESSING = "processing", _("being charged")
        PAID = "paid", _("paid")
        RETRYING = "retrying", _("failed, will retry")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    plan = models.ForeignKey(
        InstalmentPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="parts"
    )
    number = models.PositiveSmallIntegerField(_("part"))
    due_date = models.DateField(_("due"), db_index=True)
    amount = _money(_("amount"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_unique_number"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="instalment_due_idx",
                condition=Q(status__in=["scheduled", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}/{self.plan_id} {self.amount}"


class PaymentLink(models.Model):
    """A link the customer opens on their phone to pay (part of) an order: an amount, an
    expiry, single use. Only the SHA-256 of its token is kept; resending issues a new
    token, which retires the old one."""

    class Status(models.TextChoices):
        CREATED = "created", _("created")
        SENT = "sent", _("sent")
        OPENED = "opened", _("opened")
        PAID = "paid", _("paid")
        EXPIRED = "expired", _("expired")
        CANCELLED = "cancelled", _("cancelled")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payment_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    phone = models.CharField(_("sent to"), max_length=16, blank=True)
    language = models.CharField(_("language"), max_length=8, default="fr")
    expires_at = models.DateTimeField(_("expires at"))
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("created on"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="links",
    )
    message_id = models.BigIntegerField(_("last SMS"), null=True, blank=True)
    sends = models.PositiveSmallIntegerField(_("times sent"), default=0)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment link")
        verbose_name_plural = _("payment links")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_link_amount_positive"),
        ]
        indexes = [models.Index(fields=["order", "status"], name="payment_link_order_idx")]

    def __str__(self) -> str:
        return f"{self.order} {self.amount} {self.currency} ({self.get_status_display()})"


# Groups of states that the services and selectors share.
OPEN = frozenset({Payment.Status.PENDING, Payment.Status.AUTHORISED})
SETTLED = frozenset(
    {Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED}
)
# An operation with one of these statuses is an answer: the claim it resolves is done.
FINAL = (PaymentOperation.Status.SUCCEEDED, PaymentOperation.Status.FAILED)
IN_PERSON = frozenset({Payment.Method.CASH, Payment.Method.CARD_TERMINAL})
# Payments taken in several charges to the saved payment method (an instalment plan):
# each part is a new charge (``payment_charge``), never a capture of an authorisation.
PART_CHARGED = frozenset({Payment.Method.INSTALMENT})
# The reason of the operations that give money back for a return ("return R…", written
# by payments.services.returns): refunds, and the voids that take a returned amount off
# what an instalment plan still had to collect (``instalment_plan_reduce``).
RETURN_REASON_PREFIX = "return "
# A payment link that may still be paid.
LINK_LIVE = frozenset(
    {PaymentLink.Status.CREATED, PaymentLink.Status.SENT, PaymentLink.Status.OPENED}
)
# A payment in these states holds its link: it is paid, or may still be.
LINK_PAYMENT_HOLDS = frozenset({*OPEN, *SETTLED})
