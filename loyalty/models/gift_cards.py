"""Gift cards: a bearer balance, kept as an append-only ledger (docs/loyalty.md).

A card's balance is the sum of its ``GiftCardEntry`` rows: ``issue`` (+, once), ``redeem``
(−, paying with it), ``refund`` (+, a payment made with it given back), ``expire`` (−, the
rest at the end of validity), ``adjust`` (±, a correction with a reason). The database
refuses UPDATE and DELETE on the ledger (migration 0004).

The code is a bearer secret: only its SHA-256 (``code_hash``) and its last four
characters are stored, so a database dump spends nothing. Codes are 16 characters or more
from Crockford's base-32 alphabet (no I, L, O, U), shown in groups of four.

A card is *multi-purpose* (what it buys is not known when it is sold: no VAT at sale,
VAT on what it buys, French CGI art. 256 ter) or *single-purpose* (one VAT rate known at
sale: VAT at sale, optionally).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class GiftCard(models.Model):
    class Purpose(models.TextChoices):
        MULTI = "multi", _("multi-purpose (no VAT at sale)")
        SINGLE = "single", _("single-purpose (VAT at sale)")

    class Delivery(models.TextChoices):
        PHYSICAL = "physical", _("physical card")
        EMAIL = "email", _("e-card by e-mail")
        SMS = "sms", _("e-card by SMS")

    code_hash = models.CharField(_("code hash"), max_length=64, unique=True, editable=False)
    last4 = models.CharField(_("last characters"), max_length=4, editable=False)
    currency = models.CharField(_("currency"), max_length=3)
    initial_amount = models.DecimalField(
        _("initial amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.MULTI
    )
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.PHYSICAL
    )
    recipient = models.CharField(
        _("recipient"), max_length=254, blank=True, help_text=_("E-mail or phone of an e-card.")
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("bought by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gift_cards",
    )
    source = models.CharField(
        _("source"),
        max_length=100,
        blank=True,
        help_text=_("What issued it: an order reference, a batch of physical cards."),
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("A blocked card (lost, stolen) cannot be spent.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(initial_amount__gt=0), name="gift_card_initial_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"…{self.last4} ({self.initial_amount} {self.currency})"


class GiftCardEntry(models.Model):
    """One movement of a gift card's balance (signed: + credit, − spent)."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("issue")
        REDEEM = "redeem", _("redeem")
        REFUND = "refund", _("refund to card")
        EXPIRE = "expire", _("expiry")
        ADJUST = "adjust", _("adjustment")

    card = models.ForeignKey(
        GiftCard, verbose_name=_("gift card"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("gift card entry")
        verbose_name_plural = _("gift card ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="gift_card_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=["redeem", "expire"], amount__lt=0)
                | Q(kind__in=["issue", "refund"], amount__gt=0)
                | Q(kind="adjust"),
                name="gift_card_sign_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["card"], condition=Q(kind="issue"), name="gift_card_issued_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} ({self.kind})"
