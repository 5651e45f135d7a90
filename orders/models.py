import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import SalesChannel, Variant
from customers.models import Customer
from inventory.models import Location
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


def new_cart_token() -> str:
    return secrets.token_urlsafe(24)


class Cart(models.Model):
    """A server-side cart, readable and writable from every channel by its token."""

    token = models.CharField(_("token"), max_length=64, unique=True, default=new_cart_token)
    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="carts",
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"{_('Cart')} {self.token[:8]}…"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity"))
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", _("placed")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")

    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    cart = models.OneToOneField(
        Cart, on_delete=models.PROTECT, null=True, blank=True, related_name="order"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    currency = models.CharField(_("currency"), max_length=3)
    total_amount = models.DecimalField(
        _("total incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount__gte=0), name="order_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"UC{self.pk:08d}" if self.pk else "UC—"


class OrderLine(models.Model):
    """A line as sold: price and VAT rate copied at the time of sale."""

    class Fulfilment(models.TextChoices):
        TAKEN_NOW = "taken_now", _("taken now")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_amount = models.DecimalField(
        _("unit price incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=1)
    total_amount = models.DecimalField(
        _("total incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    fulfilment = models.CharField(_("fulfilment"), max_length=20, choices=Fulfilment.choices)
    location = models.ForeignKey(
        Location, verbose_name=_("from location"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
