"""Buying stock: suppliers, their items, purchase orders, replenishment rules and the
low-stock alerts they raise."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from inventory.models.stock import Location
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class Supplier(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=7)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SupplierItem(models.Model):
    """What a supplier sells us: their reference and cost for one variant."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="items"
    )
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.CASCADE, related_name="supplier_items"
    )
    supplier_sku = models.CharField(_("supplier reference"), max_length=64, blank=True)
    unit_cost_amount = models.DecimalField(
        _("unit cost excl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    is_preferred = models.BooleanField(_("preferred supplier"), default=False)

    class Meta:
        verbose_name = _("supplier item")
        verbose_name_plural = _("supplier items")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "variant"], name="supplier_item_unique"),
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(is_preferred=True),
                name="one_preferred_supplier_per_variant",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost_amount__gte=0), name="supplier_item_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} — {self.variant_id}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SENT = "sent", _("sent")
        PARTIALLY_RECEIVED = "partially_received", _("partially received")
        RECEIVED = "received", _("received")
        CANCELLED = "cancelled", _("cancelled")

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="orders"
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("deliver to"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "location"],
                condition=Q(status="draft"),
                name="one_draft_po_per_supplier_and_location",
            ),
        ]

    def __str__(self) -> str:
        return f"PO{self.pk:06d}" if self.pk else "PO—"


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    quantity_ordered = models.PositiveIntegerField(_("ordered"))
    quantity_received = models.PositiveIntegerField(_("received"), default=0)
    unit_cost_amount = models.DecimalField(
        _("unit cost excl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "variant"], name="po_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="po_line_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_ordered")),
                name="po_line_received_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.variant_id}"


class ReplenishmentRule(models.Model):
    """Keep between ``minimum`` and ``maximum`` available units of a variant at a location."""

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.CASCADE, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.CASCADE, related_name="+"
    )
    minimum = models.PositiveIntegerField(_("minimum"))
    maximum = models.PositiveIntegerField(_("maximum"))
    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty: the variant's preferred supplier."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("replenishment rule")
        verbose_name_plural = _("replenishment rules")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location"], name="replenishment_rule_unique"
            ),
            models.CheckConstraint(
                condition=Q(maximum__gt=F("minimum")), name="replenishment_max_above_min"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.location_id}: {self.minimum}–{self.maximum}"


class StockAlert(models.Model):
    """Something about a level a manager must act on: low stock against a replenishment
    rule (at most one open alert per rule), or stock below zero after an item was sold
    though not in the books (at most one open alert per variant and location: count it).
    """

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("low stock")
        BELOW_ZERO = "below_zero", _("below zero: count it")

    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=Kind.choices,
        default=Kind.LOW_STOCK,
        db_default="low_stock",
    )
    rule = models.ForeignKey(
        ReplenishmentRule,
        verbose_name=_("rule"),
        on_delete=models.CASCADE,
        related_name="alerts",
        null=True,
        blank=True,
    )
    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Of an alert without a rule (below zero)."),
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )
    available = models.IntegerField(_("available when raised"))
    purchase_order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("draft purchase order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("stock alert")
        verbose_name_plural = _("stock alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_rule",
            ),
            models.UniqueConstraint(
                fields=["variant", "location"],
                condition=Q(resolved_at__isnull=True, kind="below_zero"),
                name="one_open_below_zero_alert_per_level",
            ),
            models.CheckConstraint(
                condition=Q(kind="low_stock", rule__isnull=False)
                | Q(kind="below_zero", variant__isnull=False, location__isnull=False),
                name="stock_alert_says_what",
            ),
        ]

    def __str__(self) -> str:
        if self.rule_id is None:
            return f"{self.variant_id} @ {self.location_id}: {self.available}"
        return f"{self.rule}: {self.available}"
