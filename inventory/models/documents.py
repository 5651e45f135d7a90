"""The stock documents of a team: transfers between locations and stock counts."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from inventory.models.stock import Location


class Transfer(models.Model):
    """Stock moving from one location to another through "in transit"."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SHIPPED = "shipped", _("shipped")
        PARTIALLY_RECEIVED = "partially_received", _("partially received")
        RECEIVED = "received", _("received")
        CLOSED = "closed", _("closed with discrepancy")
        CANCELLED = "cancelled", _("cancelled")

    from_location = models.ForeignKey(
        Location, verbose_name=_("from"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_location = models.ForeignKey(
        Location, verbose_name=_("to"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")), name="transfer_between_two_places"
            ),
        ]

    def __str__(self) -> str:
        return f"TR{self.pk:06d}" if self.pk else "TR—"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity shipped"))
    quantity_received = models.PositiveIntegerField(_("quantity received"), default=0)
    discrepancy = models.IntegerField(
        _("discrepancy"), default=0, help_text=_("Shipped but never received, at closing.")
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="transfer_line_received_within_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class StockCount(models.Model):
    """A full or cycle count: a snapshot of what the books say, what was found, and the
    difference posted as ledger rows."""

    class Kind(models.TextChoices):
        FULL = "full", _("full count")
        CYCLE = "cycle", _("cycle count")

    class Status(models.TextChoices):
        OPEN = "open", _("counting")
        POSTED = "posted", _("posted")
        CANCELLED = "cancelled", _("cancelled")

    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="counts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accuracy = models.DecimalField(
        _("accuracy (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Share of counted lines where the count matched the books."),
    )

    class Meta:
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CNT{self.pk:06d}" if self.pk else "CNT—"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    expected = models.IntegerField(_("expected (snapshot)"))
    counted = models.PositiveIntegerField(_("counted"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "variant"], name="count_line_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.expected} → {self.counted}"

    @property
    def variance(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected
