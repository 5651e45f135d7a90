"""Store credit, as an append-only ledger.

A customer's store credit is the sum of their ``StoreCreditEntry`` rows per currency:
a refund or a return given as credit adds a row (+), paying with it adds one (−), a
correction is a new ``adjustment`` row, never an edit. The database refuses UPDATE and
DELETE on the table (migration 0002), as for the stock ledger.

Gift cards and points are ledgers of the same shape (``gift_cards``, ``points``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class StoreCreditEntry(models.Model):
    """One movement of a customer's store credit (signed: + credit, − spent)."""

    class Reason(models.TextChoices):
        REFUND = "refund", _("refund")
        RETURN = "return", _("return")
        PURCHASE = "purchase", _("purchase")
        ADJUSTMENT = "adjustment", _("adjustment")
        EXPIRY = "expiry", _("expiry")
        # A balance moved between two customers merged into one: a debit on the
        # duplicate and the same credit on the survivor, written together.
        MERGE = "merge", _("customers merged")

    CREDITS = (Reason.REFUND, Reason.RETURN, Reason.ADJUSTMENT)
    DEBITS = (Reason.PURCHASE, Reason.EXPIRY, Reason.ADJUSTMENT)

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="store_credit_entries",
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=_("Positive when credit is given, negative when it is spent."),
    )
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("What it is about: an order reference, a return, a payment."),
    )
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
        verbose_name = _("store credit entry")
        verbose_name_plural = _("store credit ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "currency"], name="store_credit_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="store_credit_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(reason__in=["purchase", "expiry"], amount__lt=0)
                | Q(reason__in=["refund", "return"], amount__gt=0)
                | Q(reason__in=["adjustment", "merge"]),
                name="store_credit_sign_matches_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} {self.currency} ({self.reason})"
