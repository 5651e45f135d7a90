from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import SalesChannel, Variant


class Location(models.Model):
    """A place that holds stock: a store, a warehouse, or a virtual place."""

    class Kind(models.TextChoices):
        STORE = "store", _("store")
        WAREHOUSE = "warehouse", _("warehouse")
        TRANSIT = "transit", _("in transit")
        QUARANTINE = "quarantine", _("quarantine")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    city = models.CharField(_("city"), max_length=100, blank=True)
    channels = models.ManyToManyField(
        SalesChannel,
        verbose_name=_("feeds channels"),
        related_name="locations",
        blank=True,
        help_text=_("The sales channels that may sell this location's available stock."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), related_name="locations", blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """The current quantities of one variant at one location.

    ``on_hand`` is a cached balance of the ledger (StockMovement), changed only in the
    transaction that writes the ledger row. ``available = on_hand - reserved - safety``.
    """

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="stock_levels"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock_levels"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    incoming = models.IntegerField(_("incoming"), default=0)
    safety = models.IntegerField(_("safety stock"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(incoming__gte=0), name="stock_incoming_not_negative"
            ),
            models.CheckConstraint(condition=Q(safety__gte=0), name="stock_safety_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.location.code}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.safety, 0)


class StockMovement(models.Model):
    """The append-only stock ledger: one row per change of ``on_hand``.

    A database trigger (migration 0002) refuses UPDATE and DELETE: a mistake is corrected
    by a new row, never by editing history.
    """

    class Reason(models.TextChoices):
        RECEIPT = "receipt", _("receipt")
        SALE = "sale", _("sale")
        RETURN = "return", _("return")
        TRANSFER_OUT = "transfer_out", _("transfer out")
        TRANSFER_IN = "transfer_in", _("transfer in")
        COUNT = "count", _("count correction")
        DAMAGE = "damage", _("damage")
        ADJUSTMENT = "adjustment", _("adjustment")

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.IntegerField(_("quantity"), help_text=_("Positive in, negative out."))
    on_hand_after = models.IntegerField(_("on hand after"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_id = models.CharField(_("source document"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "location", "id"], name="ledger_variant_loc_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="ledger_quantity_not_zero"),
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0), name="ledger_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.quantity:+d}"


class ChannelStock(models.Model):
    """What each channel may sell of each variant, as last computed by the stock worker.

    ``version`` grows by one at each change, so a channel can drop stale updates.
    """

    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="+"
    )
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.CASCADE, related_name="channel_stock"
    )
    quantity = models.IntegerField(_("sellable quantity"))
    version = models.BigIntegerField(_("version"), default=1)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("channel stock")
        verbose_name_plural = _("channel stock")
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="channel_stock_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} {self.variant.sku}: {self.quantity}"
