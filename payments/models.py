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

from catalog.models import SalesChannel
from orders.models import Order
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
        # A payment created already captured (cash at the till, payments.services) has
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
