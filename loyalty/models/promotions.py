"""Promotions (automatic) and vouchers (codes): the offers the pricing engine applies
(``orders.pricing``; rules and their order in docs/pricing.md).

A ``Promotion`` is one rule: at which stage it applies (catalogue, line, order), what it
gives (percent, amount, a free item, buy X get Y), on what (products, categories,
variants; none = everything discountable), where (channels, stores), when (a window) and
for whom (RFM segments). With ``requires_code`` it is a voucher campaign: it applies only
to carts where one of its ``VoucherCode`` rows was entered, and its limits (global, per
customer, per code) are enforced when an order is placed, under the campaign's row lock,
by ``loyalty.services.vouchers``; each use is a ``VoucherRedemption``, released (not
deleted) when the order is cancelled.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Product, Variant
from customers.models import Customer
from inventory.models import Location
from unicommerce.channels.models import SalesChannel
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class Promotion(models.Model):
    class Stage(models.TextChoices):
        CATALOGUE = "catalogue", _("catalogue (changes the unit price)")
        LINE = "line", _("line")
        ORDER = "order", _("order (threshold on the discounted subtotal)")

    class Reward(models.TextChoices):
        PERCENT = "percent", _("percent off")
        AMOUNT = "amount", _("amount off")
        FREE_ITEM = "free_item", _("free item")
        BXGY = "bxgy", _("buy X get Y")

    name = models.CharField(
        _("name"), max_length=100, help_text=_("Shown to customers, on carts and receipts.")
    )
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    reward = models.CharField(_("reward"), max_length=10, choices=Reward.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=_("A percentage (1 to 100) or an amount; buy X get Y: percent off the Y."),
    )
    products = models.ManyToManyField(
        Product, verbose_name=_("products"), blank=True, related_name="+"
    )
    categories = models.ManyToManyField(
        Category,
        verbose_name=_("categories"),
        blank=True,
        related_name="+",
        help_text=_("Their subcategories too."),
    )
    variants = models.ManyToManyField(
        Variant, verbose_name=_("variants"), blank=True, related_name="+"
    )
    channels = models.ManyToManyField(
        SalesChannel,
        verbose_name=_("channels"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every channel."),
    )
    locations = models.ManyToManyField(
        Location,
        verbose_name=_("stores"),
        blank=True,
        related_name="+",
        help_text=_("Only at these stores' tills; empty: everywhere."),
    )
    segments = ArrayField(
        models.CharField(max_length=20),
        verbose_name=_("customer segments"),
        blank=True,
        default=list,
        help_text=_("RFM segments it is reserved to; empty: everyone."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    stackable = models.BooleanField(
        _("stackable"),
        default=False,
        help_text=_("Applies on top of the best offer of its stage instead of competing."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Breaks ties between equal offers: higher wins.")
    )
    min_subtotal = models.DecimalField(
        _("minimum spend"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
        help_text=_("On the subtotal after the earlier discounts."),
    )
    buy_quantity = models.PositiveIntegerField(_("buy (X)"), default=0)
    get_quantity = models.PositiveIntegerField(_("get (Y)"), default=0)
    free_variant = models.ForeignKey(
        Variant,
        verbose_name=_("free item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requires_code = models.BooleanField(
        _("voucher campaign"), default=False, help_text=_("Applies only with one of its codes.")
    )
    usage_limit = models.PositiveIntegerField(_("uses in all"), null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(_("uses per customer"), null=True, blank=True)
    used_count = models.PositiveIntegerField(_("used"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-priority", "id"]
        indexes = [
            models.Index(fields=["is_active", "requires_code"], name="promotion_active_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="promotion_value_positive"),
            models.CheckConstraint(
                condition=~Q(reward__in=["percent", "bxgy"]) | Q(value__lte=100),
                name="promotion_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=~Q(reward="bxgy") | Q(buy_quantity__gt=0, get_quantity__gt=0),
                name="promotion_bxgy_quantities",
            ),
            models.CheckConstraint(
                condition=~Q(reward="free_item") | Q(free_variant__isnull=False),
                name="promotion_free_item_variant",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="promotion_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VoucherCode(models.Model):
    promotion = models.ForeignKey(
        Promotion,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="codes",
        limit_choices_to={"requires_code": True},
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    max_uses = models.PositiveIntegerField(
        _("uses of this code"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    used_count = models.PositiveIntegerField(_("used"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("voucher code")
        verbose_name_plural = _("voucher codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class VoucherRedemption(models.Model):
    """One use of a code by an order; ``released_at`` set when the order is cancelled
    gives the use back (the row stays, as a record)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    code = models.ForeignKey(VoucherCode, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("order"), max_length=100, db_index=True)
    amount = models.DecimalField(
        _("discount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    created_at = models.DateTimeField(_("used at"), auto_now_add=True)
    released_at = models.DateTimeField(_("given back at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("voucher use")
        verbose_name_plural = _("voucher uses")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "reference"], name="voucher_used_once_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} → {self.reference}"
