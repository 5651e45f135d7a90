"""What a French receipt must say about the seller, per store (the legal entity may
differ from one store to another: a franchise), and the log of its prints: the first
print is the original, every later one a duplicate ("DUPLICATA n°k") — never deleted."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Location
from orders.models import Order
from pos.models.registers import Register


class StoreIdentity(models.Model):
    location = models.OneToOneField(
        Location,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="identity",
        limit_choices_to={"kind": Location.Kind.STORE},
    )
    legal_name = models.CharField(_("legal name"), max_length=150)
    address = models.CharField(_("address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=16)
    city = models.CharField(_("city"), max_length=100)
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        validators=[RegexValidator(r"^\d{14}$", _("A SIRET is 14 digits."))],
    )
    vat_number = models.CharField(
        _("VAT number"),
        max_length=20,
        validators=[
            RegexValidator(r"^[A-Z]{2}[0-9A-Z]{2,13}$", _("An EU VAT number, e.g. FR32123456789."))
        ],
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    footer = models.CharField(
        _("footer"), max_length=300, blank=True, help_text=_("Returns policy, opening hours…")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("store identity on receipts")
        verbose_name_plural = _("store identities on receipts")

    def __str__(self) -> str:
        return f"{self.legal_name} — {self.location_id}"


class PrintLog(models.Model):
    """One print of a paper (a receipt, an invoice): the first is the original, every
    later one a duplicate numbered from 1; append-only (a database trigger refuses
    UPDATE and DELETE)."""

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("original")
        DUPLICATE = "duplicate", _("duplicate")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    number = models.PositiveIntegerField(_("number"), help_text=_("0 for the original."))
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="+")
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_at = models.DateTimeField(_("printed at"), auto_now_add=True)

    class Meta:
        abstract = True


class ReceiptPrint(PrintLog):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("receipt print")
        verbose_name_plural = _("receipt prints")
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="receipt_print_numbered"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.number}"
