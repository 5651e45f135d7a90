from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Order
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class Payment(models.Model):
    """Money received for an order. (Split tender, operations and gateways: payments issue.)"""

    class Method(models.TextChoices):
        CASH = "cash", _("cash")

    class Status(models.TextChoices):
        CAPTURED = "captured", _("captured")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    amount = models.DecimalField(_("amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(_("currency"), max_length=3)
    tendered_amount = models.DecimalField(
        _("cash tendered"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    change_amount = models.DecimalField(
        _("change given"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
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
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency}"
