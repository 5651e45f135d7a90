import secrets
from decimal import Decimal
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from catalog.barcodes import barcode_problem
from unicommerce.channels.models import SalesChannel
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


class Category(models.Model):
    """A node of the category tree (Clothing › Tops › T-shirts)."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
    )
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
    gift_card = models.CharField(
        _("gift card"),
        max_length=10,
        blank=True,
        choices=[
            ("multi", _("multi-purpose gift card (no VAT at sale)")),
            ("single", _("single-purpose gift card (VAT at sale)")),
        ],
        help_text=_(
            "Selling it issues a gift card of the price paid. Never discounted, never "
            "paid with a gift card, earns no points."
        ),
    )
    channels = models.ManyToManyField(
        SalesChannel,
        verbose_name=_("published on"),
        through="Publication",
        related_name="products",
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """What is sold and stocked: one SKU, its barcodes, its VAT-inclusive price."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="variants"
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
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
        indexes = [
            # What a scanner sends, whatever its case (``sku__iexact``): the exact fast path.
            models.Index(Upper("sku"), name="variant_sku_upper_idx"),
        ]

    def __str__(self) -> str:
        label = " / ".join(str(v) for v in self.attributes.values())
        return f"{self.product.name} {label}".strip() + f" ({self.sku})"

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in self.attributes.values())

    @property
    def barcode(self) -> str:
        """The first barcode (uses ``prefetch_related("barcodes")`` when present)."""
        codes = [b.code for b in self.barcodes.all()]
        return min(codes, default="") if codes else ""


class Barcode(models.Model):
    """One of the barcodes printed on a variant (EAN-13, EAN-8, UPC-A); unique overall."""

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.CASCADE, related_name="barcodes"
    )
    code = models.CharField(_("barcode"), max_length=14, unique=True, validators=[validate_barcode])
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("barcode")
        verbose_name_plural = _("barcodes")
        ordering = ["variant_id", "id"]

    def __str__(self) -> str:
        return self.code


class Publication(models.Model):
    """A product is sold on a channel when it is published there."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="publications")
    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        constraints = [
            models.UniqueConstraint(fields=["product", "channel"], name="publication_unique"),
        ]
        indexes = [
            # A channel's catalog in product order (the storefront list and its cursor).
            models.Index(fields=["channel", "product"], name="publication_channel_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} on {self.channel_id}"


class ChannelPrice(models.Model):
    """A price set on purpose for one channel; otherwise the variant's price applies."""

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.CASCADE, related_name="channel_prices"
    )
    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="+"
    )
    price_amount = models.DecimalField(
        _("price incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )

    class Meta:
        verbose_name = _("channel price")
        verbose_name_plural = _("channel prices")
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="channel_price_unique"),
            models.CheckConstraint(
                condition=Q(price_amount__gte=0), name="channel_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} on {self.channel_id}: {self.price_amount}"


class CatalogChange(models.Model):
    """Edit history of products, variants and prices: who changed what, from what to what."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")
        PRICE = "price", _("price changed")
        CHANNEL_PRICE = "channel_price", _("channel price changed")
        PUBLICATION = "publication", _("publication changed")
        IMAGES = "images", _("pictures changed")

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="history"
    )
    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("{field: [before, after]}"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("catalog change")
        verbose_name_plural = _("catalog history")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.product_id}"


class VariantSearch(models.Model):
    """The search document of one variant: the lexemes of its product's name (weight A),
    its SKU and barcodes (B), its brand and attribute values (C) and its categories' names
    (D), accent-folded and lower-cased, hyphenated words both split and joined (see
    ``catalog.search``). Written only by the database triggers of migrations 0005 and 0007,
    on every write of a variant, its product, its barcodes or a category, whatever the
    path."""

    variant = models.OneToOneField(
        Variant,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search",
        editable=False,
    )
    document = SearchVectorField(editable=False)
    # Its product, folded name and whether it is on sale (0007): a search checks the
    # variants of its first products through this table alone.
    product = models.ForeignKey(
        Product,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        editable=False,
        related_name="+",
    )
    sort_name = models.TextField(default="", editable=False)  # the name, folded
    active = models.BooleanField(default=True, editable=False)  # variant and product
    name_document = SearchVectorField(null=True, editable=False)  # the name's lexemes

    class Meta:
        verbose_name = _("variant search document")
        verbose_name_plural = _("variant search documents")
        indexes = [GinIndex(fields=["document"], name="variant_search_document_idx")]

    def __str__(self) -> str:
        return str(self.document)


def product_image_upload_to(image: "ProductImage", filename: str) -> str:
    """``products/<product id>/<random>.<ext>``: the name never comes from the uploader
    (no path, no guessable or clashing names); the extension is the one the service set
    from the format Pillow read (``catalog.images``)."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in {".jpg", ".png", ".webp"}:
        suffix = ""
    return f"products/{image.product_id}/{secrets.token_hex(12)}{suffix}"


class ProductImage(models.Model):
    """A picture of a product, or of one of its variants (a colour), in the default
    storage (a folder in development, S3-compatible storage in production: every read
    goes through ``storage.url()``). Thumbnails are made after commit by a worker
    (``catalog.images.product_image_thumbnails_make``); until then the original is used."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images"
    )
    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="images",
        help_text=_("Only for this variant (a colour, say); empty for the whole product."),
    )
    image = models.ImageField(_("image"), upload_to=product_image_upload_to, max_length=255)
    width = models.PositiveIntegerField(_("width"), default=0, editable=False)
    height = models.PositiveIntegerField(_("height"), default=0, editable=False)
    alt = models.CharField(
        _("alternative text"),
        max_length=200,
        blank=True,
        help_text=_("What the picture shows, for screen readers and when it cannot load."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    # {"160": storage name, …}: only the widths smaller than the original are made.
    thumbnails = models.JSONField(_("thumbnails"), default=dict, blank=True, editable=False)
    thumbnails_made_at = models.DateTimeField(
        _("thumbnails made at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product_id", "position", "id"]
        indexes = [
            # A page's pictures in order, read by the storefront statement per product.
            models.Index(fields=["product", "position", "id"], name="product_image_order_idx"),
        ]

    def __str__(self) -> str:
        return self.alt or self.image.name

    def clean(self) -> None:
        super().clean()
        if self.variant_id and self.product_id and self.variant.product_id != self.product_id:
            raise ValidationError(
                {"variant": _("This variant belongs to another product.")}, code="other_product"
            )


class ProductSearch(models.Model):
    """A product's search document: its name, brand and categories and the SKUs,
    barcodes and attribute values of all its active variants. A search finds and orders
    products here first (a tenth of the rows of the variants'), then checks which of the
    first products' variants match (``catalog.search``). Written only by the database
    triggers of migration 0007."""

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="search", editable=False
    )
    sort_name = models.TextField(default="", editable=False)  # the name, folded
    active = models.BooleanField(default=True, editable=False)  # on sale, with a variant on sale
    name_document = SearchVectorField(null=True, editable=False)
    document = SearchVectorField(editable=False)

    class Meta:
        verbose_name = _("product search document")
        verbose_name_plural = _("product search documents")
        indexes = [GinIndex(fields=["document"], name="product_search_document_idx")]

    def __str__(self) -> str:
        return str(self.document)
