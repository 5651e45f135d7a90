"""Sales at a till of items the books say are not there."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from inventory.models.stock import Location


class UnbookedSale(models.Model):
    """A seller's override for one cart line at their till: the customer holds an item
    the books say is not here, and the store's policy lets it be sold anyway with a
    reason (and, if it asks, a manager's approval typed on the till).

    ``quantity`` is how many units may be sold beyond what the books have free here;
    the checkout consumes the override once (``status`` used) and the sale's ledger row
    points at it. More units than approved need a new override, which voids this one.
    """

    class Reason(models.TextChoices):
        NOT_COUNTED = "not_counted", _("not counted")
        MISPLACED = "misplaced", _("misplaced")
        DELIVERY_NOT_BOOKED = "delivery_not_booked", _("delivery not booked")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        GRANTED = "granted", _("approved, not sold yet")
        USED = "used", _("sold")
        VOID = "void", _("replaced or withdrawn")

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("units not in the books"))
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    note = models.CharField(_("details"), max_length=255, blank=True)
    reference = models.CharField(
        _("for"), max_length=100, help_text=_("The cart line it was given for.")
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the store's policy asks for a reason only."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.GRANTED
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    used_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    used_xid = models.BigIntegerField(
        _("sold in transaction"),
        null=True,
        blank=True,
        help_text=_("Lets the database check that stock goes below zero only with it."),
    )

    class Meta:
        verbose_name = _("sale not in the books")
        verbose_name_plural = _("sales not in the books")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "location", "used_xid"], name="unbooked_sale_used_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="unbooked_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(approver=F("seller")), name="unbooked_not_self_approved"
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(note=""), name="unbooked_other_says_why"
            ),
            models.CheckConstraint(
                condition=Q(status="used", used_at__isnull=False)
                | (~Q(status="used") & Q(used_at__isnull=True)),
                name="unbooked_used_when_sold",
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status="granted"),
                name="one_granted_unbooked_sale_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} @ {self.location_id} ({self.status})"
