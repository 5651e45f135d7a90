"""Loyalty points: a programme (rules as data) and each customer's points ledger.

A customer's points are the sum of their ``PointsEntry`` rows in a programme: ``earn``
(+, merchandise paid net of discounts once the order is paid), ``redeem`` (−, points
spent as a tender), ``reverse`` (− or +: an earning taken back pro rata on a return, or a
redemption given back on a refund), ``expire`` (−, earnings past their validity, oldest
first), ``adjust`` (±, a correction with a reason) and ``merge`` (two customers merged).
The database refuses UPDATE and DELETE on the ledger (migration 0004). Every movement
carries an idempotency key, so a replayed event or a retried task writes nothing twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from unicommerce.channels.models import SalesChannel


class PointsProgramme(models.Model):
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    is_active = models.BooleanField(_("active"), default=True)
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("1"),
        help_text=_("Points earned per euro paid for merchandise, net of discounts."),
    )
    point_value = models.DecimalField(
        _("value of a point"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.05"),
        help_text=_("What one point pays for when it is redeemed, in the currency."),
    )
    min_redeem_points = models.PositiveIntegerField(_("minimum points per redemption"), default=0)
    expiry_days = models.PositiveIntegerField(
        _("validity (days)"),
        null=True,
        blank=True,
        help_text=_("Points expire this many days after they are earned; empty: never."),
    )
    channels = models.ManyToManyField(
        SalesChannel,
        verbose_name=_("earned on"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every channel."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points programme")
        verbose_name_plural = _("points programmes")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(is_active=True),
                name="points_one_active_programme_per_currency",
            ),
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0, point_value__gt=0),
                name="points_programme_rates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointsEntry(models.Model):
    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        REDEEM = "redeem", _("redeemed")
        REVERSE = "reverse", _("reversed")
        EXPIRE = "expire", _("expired")
        ADJUST = "adjust", _("adjustment")
        MERGE = "merge", _("customers merged")

    programme = models.ForeignKey(
        PointsProgramme,
        verbose_name=_("programme"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="points_entries",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
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
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "programme"], name="points_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="points_not_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=["redeem", "expire"], points__lt=0)
                | Q(kind="earn", points__gt=0)
                | Q(kind__in=["reverse", "adjust", "merge"]),
                name="points_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+} ({self.kind})"
