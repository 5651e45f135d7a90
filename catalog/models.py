from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.barcodes import barcode_problem
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class VatRate(models.TextChoices):
    """French VAT rates, in percent."""

    STANDARD = "20.0", _("20 % (standard)")
    INTERMEDIATE = "10.0", _("10 % (intermediate)")
    REDUCED = "5.5", _("5.5 % (reduced)")
    SUPER_REDUCED = "2.1", _("2.1 % (super-reduced)")


def validate_barcode(value: str) -> None:
    problem = barcode_problem(value)
    if problem:
        raise ValidationError(
            _("Invalid barcode %(code)s: %(problem)s."), params={"code": value, "problem": problem}
        )


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=4,
        decimal_places=1,
        choices=[(Decimal(value), label) for value, label in VatRate.choices],
        default=Decimal(VatRate.STANDARD),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """What is sold and stocked: one SKU, its barcode, its VAT-inclusive price."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="variants"
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    barcode = models.CharField(
        _("barcode"),
        max_length=14,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_barcode],
    )
    attributes = models.JSONField(
        _("attributes"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"size": "M", "colour": "Navy"}'),
    )
    price_amount = models.DecimalField(
        _("price incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_amount__gte=0), name="variant_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        label = " / ".join(str(v) for v in self.attributes.values())
        return f"{self.product.name} {label}".strip() + f" ({self.sku})"

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in self.attributes.values())


class SalesChannel(models.Model):
    """Where the retailer sells: the web store, each physical store, a marketplace, the app."""

    class Kind(models.TextChoices):
        WEB = "web", _("web store")
        STORE = "store", _("physical store")
        MARKETPLACE = "marketplace", _("marketplace")
        APP = "app", _("mobile app")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sales channel")
        verbose_name_plural = _("sales channels")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ChannelApiKey(models.Model):
    """A secret a channel's front end sends as ``Authorization: Bearer <key>``.

    Only a SHA-256 of the key is stored; the key itself is shown once, at creation.
    """

    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("channel API key")
        verbose_name_plural = _("channel API keys")

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.name} ({self.prefix}…)"
