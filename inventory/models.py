from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import SalesChannel, Variant
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


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


class Transfer(models.Model):
    """Stock moving from one location to another through "in transit"."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SHIPPED = "shipped", _("shipped")
        PARTIALLY_RECEIVED = "partially_received", _("partially received")
        RECEIVED = "received", _("received")
        CLOSED = "closed", _("closed with discrepancy")
        CANCELLED = "cancelled", _("cancelled")

    from_location = models.ForeignKey(
        Location, verbose_name=_("from"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_location = models.ForeignKey(
        Location, verbose_name=_("to"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")), name="transfer_between_two_places"
            ),
        ]

    def __str__(self) -> str:
        return f"TR{self.pk:06d}" if self.pk else "TR—"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity shipped"))
    quantity_received = models.PositiveIntegerField(_("quantity received"), default=0)
    discrepancy = models.IntegerField(
        _("discrepancy"), default=0, help_text=_("Shipped but never received, at closing.")
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="transfer_line_received_within_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class StockCount(models.Model):
    """A full or cycle count: a snapshot of what the books say, what was found, and the
    difference posted as ledger rows."""

    class Kind(models.TextChoices):
        FULL = "full", _("full count")
        CYCLE = "cycle", _("cycle count")

    class Status(models.TextChoices):
        OPEN = "open", _("counting")
        POSTED = "posted", _("posted")
        CANCELLED = "cancelled", _("cancelled")

    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="counts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accuracy = models.DecimalField(
        _("accuracy (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Share of counted lines where the count matched the books."),
    )

    class Meta:
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CNT{self.pk:06d}" if self.pk else "CNT—"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    expected = models.IntegerField(_("expected (snapshot)"))
    counted = models.PositiveIntegerField(_("counted"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "variant"], name="count_line_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.expected} → {self.counted}"

    @property
    def variance(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected


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


class ImportJob(models.Model):
    """A CSV import (products or stock levels) run by a worker: all rows or none."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("products")
        STOCK = "stock", _("stock levels")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("imported")
        FAILED = "failed", _("refused: see the errors")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    filename = models.CharField(_("file"), max_length=255)
    content = models.TextField(_("content"))
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    errors = models.JSONField(
        _("errors"),
        default=list,
        blank=True,
        help_text=_('[{"row": 3, "column": …, "message": …}]'),
    )
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.filename}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class UnbookedSale(models.Model):
    """A seller's override for one cart line at their till: the customer holds an item
    the books say is not here, and the store's policy lets it be sold anyway with a
    reason (and, if it asks, a manager's approval typed on the till).

    ``quantity`` is how many units may be sold beyond what the books have free here;
    the checkout consumes the override once (``status`` used) and the sale's ledger row
    points at it. More units than approved need a new override, which voids this one.
    """

    class Reason(models.TextChoices):
        NOT_COUNTED = "not_counted", _("not counted")
        MISPLACED = "misplaced", _("misplaced")
        DELIVERY_NOT_BOOKED = "delivery_not_booked", _("delivery not booked")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        GRANTED = "granted", _("approved, not sold yet")
        USED = "used", _("sold")
        VOID = "void", _("replaced or withdrawn")

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("units not in the books"))
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    note = models.CharField(_("details"), max_length=255, blank=True)
    reference = models.CharField(
        _("for"), max_length=100, help_text=_("The cart line it was given for.")
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the store's policy asks for a reason only."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.GRANTED
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    used_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    used_xid = models.BigIntegerField(
        _("sold in transaction"),
        null=True,
        blank=True,
        help_text=_("Lets the database check that stock goes below zero only with it."),
    )

    class Meta:
        verbose_name = _("sale not in the books")
        verbose_name_plural = _("sales not in the books")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "location", "used_xid"], name="unbooked_sale_used_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="unbooked_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(approver=F("seller")), name="unbooked_not_self_approved"
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(note=""), name="unbooked_other_says_why"
            ),
            models.CheckConstraint(
                condition=Q(status="used", used_at__isnull=False)
                | (~Q(status="used") & Q(used_at__isnull=True)),
                name="unbooked_used_when_sold",
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status="granted"),
                name="one_granted_unbooked_sale_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} @ {self.location_id} ({self.status})"
