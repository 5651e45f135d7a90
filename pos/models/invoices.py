"""Invoices for a business customer, on request (issue 15): one per till sale, numbered
without gaps in the store's invoice chain of the fiscal journal (the record is the
invoice as the law sees it: its payload is hashed and chained); this row keeps who the
buyer is and which record it is, so the till finds it again. Its prints are a log like
the receipt's (the first one the original, then "DUPLICATA n°k"), never changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Location
from orders.models import Order
from pos.models.journal import JournalRecord
from pos.models.receipts import PrintLog


class Invoice(models.Model):
    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="+"
    )
    store = models.ForeignKey(
        Location, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    # No foreign key constraint in the database: the journal refuses TRUNCATE itself (its
    # trigger), which a constraint pointing at it would pre-empt; it never deletes a record.
    record = models.OneToOneField(
        JournalRecord,
        verbose_name=_("journal record"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    number = models.PositiveBigIntegerField(_("number"), help_text=_("In the store's chain."))
    buyer_name = models.CharField(_("company name"), max_length=150)
    buyer_address = models.TextField(_("billing address"), max_length=400)
    buyer_siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    buyer_vat_number = models.CharField(_("VAT number"), max_length=14, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["store", "number"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="invoice_numbered_per_store"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The invoice's number as printed: the store's code and its number in the chain."""
        return f"F-{self.store.code.upper()}-{self.number:06d}"


class InvoicePrint(PrintLog):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("invoice print")
        verbose_name_plural = _("invoice prints")
        ordering = ["invoice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="invoice_print_numbered"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.number}"
