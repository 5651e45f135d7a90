"""Where stock is and how it moved: locations, stock levels and their ledger, what each
channel may sell, and reservations."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from unicommerce.channels.models import SalesChannel


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
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Where it is: order orchestration ships from the nearest location."),
    )
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

    class UnbookedSalePolicy(models.TextChoices):
        """May a till sell an item the books say is not here (it is in the seller's
        hand)? See ``inventory.services.unbooked``."""

        REFUSE = "refuse", _("refused")
        REASON = "reason", _("allowed with a reason")
        APPROVAL = "approval", _("allowed with a reason and a manager's approval")

    unbooked_sale_policy = models.CharField(
        _("selling what the books say is not here"),
        max_length=10,
        choices=UnbookedSalePolicy.choices,
        default=UnbookedSalePolicy.APPROVAL,
        help_text=_(
            "When the customer hands over an item the stock says this store does not "
            "have: refuse the sale, allow it with the seller's reason, or also ask a "
            "manager of the store to approve it at the till."
        ),
    )

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]
        permissions = [
            # Without it, a member of staff sees and acts for the locations they are
            # staff of (``staff``) only: their stores, their warehouse.
            ("all_locations", _("Can see and act for every store and warehouse (head office)")),
            (
                "approve_unbooked_sale",
                _("Can approve selling an item the books say is not here (their stores)"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """The current quantities of one variant at one location.

    ``on_hand`` is a cached balance of the ledger (StockMovement), changed only in the
    transaction that writes the ledger row. ``available = on_hand - reserved - safety``.

    ``on_hand`` goes below zero only by an approved unbooked sale (the item was in the
    customer's hand, the books said it was not here: ``UnbookedSale``): a database
    trigger (migration 0008) refuses any other statement that takes it below zero, or
    that reserves more than is on hand.
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
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
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
    unbooked_sale = models.ForeignKey(
        "UnbookedSale",
        verbose_name=_("sold though not in the books"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        help_text=_("The seller's reason and the manager's approval of this sale."),
    )

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "location", "id"], name="ledger_variant_loc_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="ledger_quantity_not_zero"),
            # Below zero: only an approved unbooked sale takes stock there; what comes
            # in, or reserved units handed over, may leave it there for a while.
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0)
                | Q(unbooked_sale__isnull=False)
                | Q(quantity__gt=0)
                | Q(reason="sale"),
                name="ledger_below_zero_explained",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.quantity:+d}"


class ChannelStock(models.Model):
    """What each channel may sell of each variant, as last computed by the stock worker.

    ``version`` grows by one at each change, so a channel can drop stale updates.
    ``changed_xid`` is the id of the transaction of the last change: the cursor of the
    "changed since" feed, which only ever reads past transactions that have all ended
    (see inventory.sync.channel_stock_changes).
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
    changed_xid = models.BigIntegerField(_("changed in transaction"), db_default=0)

    class Meta:
        verbose_name = _("channel stock")
        verbose_name_plural = _("channel stock")
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="channel_stock_unique"),
        ]
        indexes = [
            models.Index(
                fields=["channel", "changed_xid", "variant"], name="channel_stock_feed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} {self.variant.sku}: {self.quantity}"


class Reservation(models.Model):
    """Units promised to a cart or an order at one location, until released, expired or
    turned into a sale. ``StockLevel.reserved`` is the sum of the active ones.

    An active reservation past ``expires_at`` no longer holds stock: reads subtract it
    at once, writes release it when they need the units, and a periodic task tidies up.

    Its foreign keys are not database constraints, on purpose: a reservation is written
    only by the statement that reserves units of the stock level of the same variant and
    location (whose own foreign keys are real), and checking four more keys at every
    commit, while the hot stock row is locked, halved the reservation throughput of a
    popular variant (bench/bench_reservations.py).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        RELEASED = "released", _("released")
        EXPIRED = "expired", _("expired")
        CONVERTED = "converted", _("sold")

    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.PROTECT,
        related_name="reservations",
        db_constraint=False,
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        related_name="reservations",
        db_constraint=False,
        db_index=False,
    )
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: held until released.")
    )
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("The cart or order it holds for.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["variant", "location"],
                name="reservation_active_idx",
                condition=Q(status="active"),
            ),
            models.Index(
                fields=["expires_at"],
                name="reservation_expiry_idx",
                condition=Q(status="active", expires_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True)
                | (~Q(status="active") & Q(ended_at__isnull=False)),
                name="reservation_ended_when_not_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} @ {self.location_id} ({self.status})"
