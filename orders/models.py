import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import Variant
from customers.models import Customer
from inventory.models import Location, Reservation
from loyalty.models import VoucherCode
from unicommerce.channels.models import SalesChannel
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


def new_cart_token() -> str:
    return secrets.token_urlsafe(24)


class Cart(models.Model):
    """A server-side cart, readable and writable from every channel by its token.

    A cart lives until ``expires_at`` (pushed forward by every write); an anonymous cart
    merged into its customer's cart points at it with ``merged_into`` and is closed.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        MERGED = "merged", _("merged")
        CHECKED_OUT = "checked_out", _("checked out")

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
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        indexes = [
            models.Index(
                fields=["customer", "-updated_at"],
                name="cart_open_by_customer_idx",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Cart')} {self.token[:8]}…"


class Fulfilment(models.TextChoices):
    """How an order line reaches the customer."""

    TAKEN_NOW = "taken_now", _("taken now")
    COLLECT = "collect", _("click & collect")
    SHIP = "ship", _("shipped")


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity"))
    fulfilment = models.CharField(
        _("fulfilment"),
        max_length=20,
        choices=Fulfilment.choices,
        blank=True,
        help_text=_("Empty: the channel's usual way (taken now in a store, shipped online)."),
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The store to collect from, or a location chosen to ship from."),
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class CartVoucher(models.Model):
    """A voucher code entered on a cart: priced by the engine on every read, used (and
    its limits enforced) only when the order is placed."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="vouchers")
    voucher = models.ForeignKey(
        VoucherCode, verbose_name=_("voucher code"), on_delete=models.CASCADE, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "voucher"], name="cart_voucher_unique"),
        ]

    def __str__(self) -> str:
        return str(self.voucher_id)


class DiscountKind(models.TextChoices):
    PERCENT = "percent", _("percent off")
    AMOUNT = "amount", _("amount off")


class CartDiscount(models.Model):
    """A manual discount a seller gave at the till, on one line or (``line`` empty) on the
    whole basket, with its reason and, above the seller's cap, the manager who approved
    it. At most one per line and one for the basket: a new one replaces the old."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="discounts")
    line = models.ForeignKey(
        CartLine, on_delete=models.CASCADE, null=True, blank=True, related_name="discounts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=DiscountKind.choices)
    value = models.DecimalField(_("value"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    reason = models.CharField(_("reason"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("given by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [
            ("approve_discount", _("Can approve a manual discount above a seller's cap")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="cart_discount_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100),
                name="cart_discount_percent_at_most_100",
            ),
            models.UniqueConstraint(
                fields=["cart", "line"],
                nulls_distinct=False,
                name="cart_discount_one_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.value} {self.kind}"


class CartEvent(models.Model):
    """What happened to a cart, kept to measure abandonment and cross-channel journeys."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        LINE_ADDED = "line_added", _("line added")
        LINE_CHANGED = "line_changed", _("quantity changed")
        LINE_REMOVED = "line_removed", _("line removed")
        IDENTIFIED = "identified", _("customer identified")
        MERGED = "merged", _("merged")
        OPENED = "opened", _("opened on another channel")
        CHECKED_OUT = "checked_out", _("checked out")
        VOUCHER_ADDED = "voucher_added", _("voucher code entered")
        VOUCHER_REMOVED = "voucher_removed", _("voucher code removed")
        DISCOUNT_SET = "discount_set", _("manual discount given")
        DISCOUNT_REMOVED = "discount_removed", _("manual discount removed")
        PARKED = "parked", _("parked at a till")
        RECALLED = "recalled", _("recalled at a till")
        VOIDED = "voided", _("voided at a till")

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="+"
    )
    variant_id = models.BigIntegerField(null=True, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("cart event")
        verbose_name_plural = _("cart events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["cart", "at"], name="cart_event_cart_idx"),
            models.Index(fields=["kind", "at"], name="cart_event_kind_idx"),
        ]

    def __str__(self) -> str:
        return self.kind


class Order(models.Model):
    """An order, placed on one channel (``channel``) from a cart that may have been filled
    on another (``origin_channel``); see ``orders.states`` for its state machine."""

    class Status(models.TextChoices):
        PLACED = "placed", _("placed")
        PROCESSING = "processing", _("processing")
        PARTIALLY_FULFILLED = "partially_fulfilled", _("partially fulfilled")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")

    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="+"
    )
    origin_channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("cart filled on"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
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
    discount_amount = models.DecimalField(
        _("discounts"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0
    )

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", _("unpaid")
        PARTIALLY_PAID = "partially_paid", _("partially paid")
        PAID = "paid", _("paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        REFUNDED = "refunded", _("refunded")

    payment_status = models.CharField(
        _("payment"),
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.UNPAID,
        help_text=_("Derived from the order's payments (the payments app keeps it)."),
    )
    payment_method = models.CharField(
        _("payment method"),
        max_length=30,
        blank=True,
        help_text=_("How the customer chose to pay at checkout (pay in store, cash…)."),
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)
    shipping_address = models.JSONField(_("shipping address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
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
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"UC{self.pk:08d}" if self.pk else "UC—"


class Shipment(models.Model):
    """One fulfilment of part of an order from one location: a parcel shipped, a click &
    collect pickup, or goods taken at the till. Its lines are the order lines it carries.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("to prepare")
        PICKING = "picking", _("picking")
        PACKED = "packed", _("packed")
        SHIPPED = "shipped", _("shipped")
        READY = "ready", _("ready for pickup")
        COLLECTED = "collected", _("collected")
        TAKEN = "taken", _("taken at the till")
        CANCELLED = "cancelled", _("cancelled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    kind = models.CharField(_("fulfilment"), max_length=20, choices=Fulfilment.choices)
    location = models.ForeignKey(
        Location, verbose_name=_("from location"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    pickup_code = models.CharField(_("pickup code"), max_length=12, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    picked_at = models.DateTimeField(_("picked at"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["location", "status"],
                name="shipment_open_idx",
                condition=~Q(status__in=["shipped", "collected", "taken", "cancelled"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.reference}/{self.pk}"


class OrderLine(models.Model):
    """A line as sold: price and VAT rate copied at the time of sale."""

    Fulfilment = Fulfilment

    class Status(models.TextChoices):
        OPEN = "open", _("to fulfil")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT)
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_amount = models.DecimalField(
        _("unit price incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=1)
    # What the line costs after its discounts (unit price × quantity − discount_amount):
    # what was paid for it, hence what its return refunds (pro rata, to the cent).
    total_amount = models.DecimalField(
        _("total incl. VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    discount_amount = models.DecimalField(
        _("discount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0
    )
    # Each discount applied, as the pricing engine gave it: {"source": promotion|voucher|
    # manual, "id", "stage", "label", "amount", "code", "reason", "approved_by"}.
    discounts = models.JSONField(_("discounts"), default=list, blank=True)
    vat_amount = models.DecimalField(
        _("VAT"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    fulfilment = models.CharField(_("fulfilment"), max_length=20, choices=Fulfilment.choices)
    location = models.ForeignKey(
        Location, verbose_name=_("from location"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    shipment = models.ForeignKey(
        Shipment,
        verbose_name=_("shipment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
    )
    reservation = models.ForeignKey(
        Reservation,
        verbose_name=_("reservation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, total_amount__gte=0),
                name="order_line_discount_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    @property
    def subtotal_amount(self):
        """Before its discounts (what a receipt prints on the line, the discounts below)."""
        return self.total_amount + self.discount_amount


class OrderEvent(models.Model):
    """The order's timeline: every status change and every notable action, append-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=40)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    message = models.CharField(_("message"), max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order_idx")]

    #: The timeline's entries in words (``kind`` is a code for programs); a kind missing
    #: here is shown with its underscores turned into spaces.
    KIND_LABELS = {
        "placed": pgettext_lazy("order timeline", "Placed"),
        "status": pgettext_lazy("order timeline", "Status"),
        "payment": pgettext_lazy("order timeline", "Payment"),
        "awaiting_payment": _("Awaiting payment"),
        "shipment_picking": _("Picking started"),
        "shipment_packed": pgettext_lazy("order timeline", "Packed"),
        "shipment_shipped": pgettext_lazy("order timeline", "Shipped"),
        "shipment_ready": _("Ready for pickup"),
        "shipment_collected": pgettext_lazy("order timeline", "Collected"),
        "cancelled": pgettext_lazy("order timeline", "Cancelled"),
        "order_unpaid_cancelled": _("Cancelled: not paid in time"),
        "line_quantity_changed": _("Line quantity changed"),
        "line_removed": _("Line removed"),
        "line_relocated": _("Line moved to another location"),
        "return": pgettext_lazy("order timeline", "Return"),
        "return_settled": _("Return settled"),
        "payment_link_sent": _("Payment link sent"),
        "payment_link_resent": _("Payment link sent again"),
        "payment_link_cancelled": _("Payment link cancelled"),
        "unbooked_sale": _("Sold though not in the books"),
    }

    def __str__(self) -> str:
        return self.kind_label

    @property
    def kind_label(self) -> str:
        return str(self.KIND_LABELS.get(self.kind, self.kind.replace("_", " ")))


class Return(models.Model):
    """Goods brought back, on any channel, for an order from any channel."""

    class Outcome(models.TextChoices):
        REFUND = "refund", _("refund")
        EXCHANGE = "exchange", _("exchange")
        STORE_CREDIT = "store_credit", _("store credit")

    class Settlement(models.TextChoices):
        PENDING = "pending", _("to settle")
        SETTLED = "settled", _("settled")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="returns"
    )
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("returned on"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("received at"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    is_cross_channel = models.BooleanField(_("cross-channel"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    amount = models.DecimalField(_("amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(_("currency"), max_length=3)
    settlement = models.CharField(
        _("settlement"),
        max_length=20,
        choices=Settlement.choices,
        default=Settlement.PENDING,
        help_text=_("Whether the refund or store credit has been paid out."),
    )
    exchange_order = models.ForeignKey(
        Order,
        verbose_name=_("exchange order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="return_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"R{self.pk:08d}" if self.pk else "R—"


class ReturnLine(models.Model):
    class Reason(models.TextChoices):
        WRONG_SIZE = "wrong_size", _("wrong size")
        DAMAGED = "damaged", _("damaged or faulty")
        NOT_AS_DESCRIBED = "not_as_described", _("not as described")
        CHANGED_MIND = "changed_mind", _("changed their mind")
        LATE = "late", _("arrived too late")
        OTHER = "other", _("other")

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="returns"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    restock_location = models.ForeignKey(
        Location,
        verbose_name=_("restocked at"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the goods go back: the receiving store, or quarantine."),
    )
    amount = models.DecimalField(_("amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line_id}"
