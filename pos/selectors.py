from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.db import connection
from django.db.models import DecimalField, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Now

from catalog.models import Category, Product, Variant
from catalog.search import first_barcodes, product_search, product_variants
from catalog.selectors import product_thumbnails
from customers.models import Customer
from inventory.models import Location, StockLevel
from inventory.selectors import (
    levels_with_availability,
    sellable_here,
    stock_at_locations,
    stock_fingerprint,
)
from orders.models import Cart, Fulfilment, Order, OrderLine, Return, ReturnLine
from orders.pricing.carts import CartPricing, PricedLine
from orders.selectors import orders_visible_to
from payments.models import LINK_LIVE, Payment, PaymentLink, PaymentOperation
from payments.selectors import order_payment_totals, payment_link_current
from pos.models import Register
from unicommerce.access.perms import staff_has_perms
from unicommerce.messaging.models import Message
from unicommerce.money import money_round


def registers_for(user) -> QuerySet[Register]:
    """The registers a seller may open: those of their stores (any, for managers)."""
    registers = Register.objects.filter(is_active=True, location__is_active=True).select_related(
        "location", "channel"
    )
    # The process's few-seconds memory of the seller's permissions (as the permission
    # table's): every keystroke of the till's search opens the register again.
    if staff_has_perms(user, ("pos.sell_anywhere",)):
        return registers
    if not staff_has_perms(user, ("pos.sell",)):
        return registers.none()
    return registers.filter(location__staff=user)


def free_here(*, variant_ids: list[int], location_id: int) -> dict[int, int]:
    """{variant_id: units the till may sell at this location}: on hand, less what is
    reserved now (a sale at the till may dip into safety stock). One query."""
    sellable = sellable_here(variant_ids=variant_ids, location_id=location_id)
    return {v: max(units, 0) for v, units in sellable.items()}


@dataclass(frozen=True)
class LineStock:
    priced: PricedLine
    free: int  # units the line may have where it is fulfilled from (see CartStock)
    where: str = "here"  # "here" (taken now), "collect" (at line.location), "ship"
    store_name: str = ""  # the store a click & collect line is collected from

    @property
    def short(self) -> bool:
        return self.priced.line.quantity > self.free


FULFILMENT_SOURCES = (Location.Kind.STORE, Location.Kind.WAREHOUSE)


class CartStock:
    """The cart's lines with the units free where each is fulfilled from, and the
    fingerprint their live poll compares. A line taken now counts what the till may sell
    here (on hand less what is reserved now: a till sale may dip into safety stock); a
    click & collect line, what is available at its store; a shipped line, what is
    available in every store and warehouse (endless aisle: orchestration picks where).
    Read only if a template shows them (the cash-change partial does not): the
    fingerprint, then the levels, two queries whatever the number of lines."""

    def __init__(self, *, location_id: int, pricing: CartPricing) -> None:
        self.location_id = location_id
        self.pricing = pricing

    @cached_property
    def variant_ids(self) -> list[int]:
        return [priced.line.variant_id for priced in self.pricing.lines]

    @cached_property
    def location_ids(self) -> list[int] | None:
        """The locations the lines' figures come from; None: every location."""
        ids = {self.location_id}
        for priced in self.pricing.lines:
            line = priced.line
            if line.fulfilment == Fulfilment.SHIP:
                return None
            if line.fulfilment == Fulfilment.COLLECT and line.location_id:
                ids.add(line.location_id)
        return sorted(ids)

    @cached_property
    def _read(self) -> tuple[str, list]:
        if not self.variant_ids:
            return "", []
        # First the fingerprint, then the figures: see stock_fingerprint.
        fingerprint = stock_fingerprint(
            variant_ids=self.variant_ids, location_ids=self.location_ids
        )
        levels = StockLevel.objects.filter(variant_id__in=self.variant_ids)
        if self.location_ids is None:
            levels = levels.filter(location__is_active=True, location__kind__in=FULFILMENT_SOURCES)
        else:
            levels = levels.filter(location_id__in=self.location_ids)
        return fingerprint, list(levels_with_availability(levels).select_related("location"))

    @cached_property
    def _store_names(self) -> dict[int, str]:
        names = {level.location_id: level.location.name for level in self._read[1]}
        wanted = {
            p.line.location_id
            for p in self.pricing.lines
            if p.line.fulfilment == Fulfilment.COLLECT and p.line.location_id
        }
        if missing := wanted - names.keys():  # a store without a stock level yet
            names.update(Location.objects.filter(pk__in=missing).values_list("pk", "name"))
        return names

    @property
    def fingerprint(self) -> str:
        return self._read[0]

    @property
    def lines_param(self) -> str:
        return ",".join(str(v) for v in self.variant_ids)

    @property
    def at_param(self) -> str:
        return "" if self.location_ids is None else ",".join(str(i) for i in self.location_ids)

    @cached_property
    def rows(self) -> list[LineStock]:
        levels = self._read[1]
        by_pair = {(level.variant_id, level.location_id): level for level in levels}
        shippable: dict[int, int] = {}
        for level in levels:
            shippable[level.variant_id] = shippable.get(level.variant_id, 0) + level.available_now
        rows = []
        for priced in self.pricing.lines:
            line = priced.line
            if line.fulfilment == Fulfilment.SHIP:
                rows.append(LineStock(priced, shippable.get(line.variant_id, 0), "ship"))
            elif line.fulfilment == Fulfilment.COLLECT and line.location_id:
                level = by_pair.get((line.variant_id, line.location_id))
                free = level.available_now if level else 0
                name = self._store_names.get(line.location_id, "")
                rows.append(LineStock(priced, free, "collect", name))
            else:
                level = by_pair.get((line.variant_id, self.location_id))
                free = max(level.on_hand - level.reserved_now, 0) if level else 0
                rows.append(LineStock(priced, free, "here"))
        return rows


# --- The customer panel, the per-line fulfilment choices, returns -----------------------


@dataclass(frozen=True)
class OpenCart:
    cart: Cart
    item_count: int
    total_amount: Decimal


@dataclass(frozen=True)
class CustomerPanel:
    """What the seller sees of a customer found at the till."""

    customer: Customer
    carts: list[OpenCart]
    orders: list[Order]


def customer_panel(*, customer: Customer, user, order_limit: int = 5) -> CustomerPanel:
    """The customer with their open carts from every channel (newest first, each with its
    channel, item count and today's total: the customer is here, the seller opens the
    cart they filled anywhere) and their latest orders that concern the seller's stores
    (head office: every channel's; ``orders.selectors.orders_visible_to``). Three
    queries whatever the number of carts."""
    carts = list(
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN, checked_out_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
        .select_related("channel")
        .annotate(
            item_count=Coalesce(Sum("lines__quantity"), 0),
            total=Coalesce(
                Sum(F("lines__quantity") * F("lines__variant__price_amount")),
                Value(Decimal("0.00")),
                output_field=DecimalField(),
            ),
        )
        .order_by("-updated_at", "-id")
    )
    orders = list(
        orders_visible_to(user, Order.objects.filter(customer=customer))
        .select_related("channel", "origin_channel")
        .order_by("-created_at", "-id")[:order_limit]
    )
    return CustomerPanel(
        customer=customer,
        carts=[OpenCart(c, c.item_count, money_round(c.total, c.currency)) for c in carts],
        orders=orders,
    )


def collect_stores(*, exclude_id: int | None = None) -> list[Location]:
    """The stores a line may be collected from (all active stores, this one excepted)."""
    stores = Location.objects.filter(kind=Location.Kind.STORE, is_active=True).order_by("name")
    if exclude_id is not None:
        stores = stores.exclude(pk=exclude_id)
    return list(stores)


def quarantine_location() -> Location | None:
    """Where returned goods that cannot be sold again go (the first active quarantine)."""
    return (
        Location.objects.filter(kind=Location.Kind.QUARANTINE, is_active=True)
        .order_by("pk")
        .first()
    )


REFERENCE = re.compile(r"^\s*(?:UC)?0*(\d{1,12})\s*$", re.IGNORECASE)


def order_by_reference(reference: str) -> Order | None:
    """``UC00000012`` (or ``uc12``, or ``12``) → the order, or None."""
    match = REFERENCE.match(reference or "")
    if match is None:
        return None
    return (
        Order.objects.select_related("channel", "origin_channel", "customer")
        .filter(pk=int(match.group(1)))
        .first()
    )


@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    returned: int

    @property
    def returnable(self) -> int:
        if self.line.status != OrderLine.Status.FULFILLED:
            return 0
        return max(self.line.quantity - self.returned, 0)


def order_returnable_lines(*, order: Order) -> list[ReturnableLine]:
    """Each line of the order with what was already returned of it (one query)."""
    lines = (
        OrderLine.objects.filter(order=order)
        .select_related("location")
        .annotate(returned_quantity=Coalesce(Sum("returns__quantity"), 0))
        .order_by("id")
    )
    return [ReturnableLine(line, line.returned_quantity) for line in lines]


def order_receipt(*, order_id: int) -> Order | None:
    """An order as its receipt shows it: lines with how each is fulfilled and from where,
    and both channels (two queries)."""
    return (
        Order.objects.select_related("channel", "origin_channel", "customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("location").order_by("id"))
        )
        .filter(pk=order_id)
        .first()
    )


def return_receipt(*, return_id: int) -> Return | None:
    """A return as its receipt shows it: lines with the item, reason and restock place."""
    return (
        Return.objects.select_related("order", "order__channel", "channel")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ReturnLine.objects.select_related(
                    "order_line", "restock_location"
                ).order_by("id"),
            )
        )
        .filter(pk=return_id)
        .first()
    )


# --- The till's payment panel: what an order owes, what was taken, its payment links ----

_ORDER = Order._meta.db_table
# Everything the payment panel shows that another process may change (a webhook, the
# SMS worker, the customer's phone, another till), as one digest, in one indexed query:
# the order's payment status, each payment (status and amounts), each payment link
# (status, sends, the status of its last SMS, and whether its time is up: a link expires
# the moment its time is up, before anything writes "expired"). Written out rather than
# built by the ORM, as the stock fingerprint is: it is polled every second per till.
_PAYMENT_FINGERPRINT = """
    SELECT md5(concat_ws('|', o.payment_status, o.total_amount,
        (SELECT string_agg(concat_ws(':', p.id, p.status, p.amount, p.captured_amount,
                                     p.refunded_amount), ',' ORDER BY p.id)
           FROM {payment} p WHERE p.order_id = o.id),
        (SELECT string_agg(concat_ws(':', l.id, l.status, l.sends, coalesce(l.payment_id, 0),
                                     coalesce(m.status, '-'),
                                     l.expires_at <= statement_timestamp()), ',' ORDER BY l.id)
           FROM {link} l LEFT JOIN {message} m ON m.id = l.message_id
          WHERE l.order_id = o.id)))
      FROM {order} o
     WHERE o.id = %s
"""

_PAYMENT_FINGERPRINT_SQL = _PAYMENT_FINGERPRINT.format(
    order=_ORDER,
    payment=Payment._meta.db_table,
    link=PaymentLink._meta.db_table,
    message=Message._meta.db_table,
)


def payment_fingerprint(*, order_id: int) -> str:
    """A short digest of an order's payment state as the till shows it ("" for no such
    order): it changes whenever a payment, a payment link, a link's SMS or the order's
    payment status changes, and only then. One query on primary and foreign keys.

    Take it *before* reading what to render: a change committed in between then costs
    one more render, never a missed one."""
    with connection.cursor() as cursor:
        cursor.execute(_PAYMENT_FINGERPRINT_SQL, [order_id])
        row = cursor.fetchone()
    return row[0] if row else ""


def order_id_of(reference: str) -> int | None:
    """``UC00000012`` (or ``uc12``, or ``12``) → 12, without a query; None otherwise."""
    match = REFERENCE.match(reference or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class LinkRow:
    link: PaymentLink
    sms_status: str  # of its last SMS: queued, sending, sent, failed ("" for none)

    @property
    def live(self) -> bool:
        return self.link.status in LINK_LIVE


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    error: str  # why a failed payment failed (the provider's words)


@dataclass(frozen=True)
class PaymentPanel:
    """An order's payments as the till shows them, with the fingerprint its live poll
    compares."""

    order: Order
    fingerprint: str
    payments: list[PaymentRow]
    links: list[LinkRow]
    paid_amount: Decimal  # captured less refunded
    in_flight: Decimal  # what open payments will still take (a plan's later parts)
    due: Decimal  # what is still to be taken

    @property
    def phone(self) -> str:
        """Where a payment link goes by default: the order's phone, else its customer's."""
        customer = self.order.customer
        return self.order.phone or (customer.phone if customer is not None else "")

    @property
    def waiting(self) -> bool:
        """A payment is waiting for the provider's confirmation."""
        return any(row.payment.status == Payment.Status.PENDING for row in self.payments)

    @property
    def settled(self) -> bool:
        """Nothing is left to take at the till: the order is paid, or what it owes is
        covered by payments made (an instalment plan's later parts are the provider's
        to collect), none of them still waiting for a confirmation."""
        if self.order.payment_status == Order.PaymentStatus.PAID:
            return True
        return self.due <= 0 and self.paid_amount > 0 and not self.waiting

    @property
    def live(self) -> bool:
        """The panel polls while something may still change it by itself."""
        return not self.settled and self.order.status != Order.Status.CANCELLED


def payment_panel(*, order_id: int) -> PaymentPanel | None:
    """The payment panel of an order: its live payment links brought up to date first
    (their SMS sent, their payment confirmed, their time up: see
    ``payments.selectors.payment_link_current``), then the fingerprint, then the figures."""
    links = list(
        PaymentLink.objects.filter(order_id=order_id).select_related("payment").order_by("id")
    )
    for link in links:
        if link.status in LINK_LIVE:
            payment_link_current(link)
    fingerprint = payment_fingerprint(order_id=order_id)
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None:
        return None
    payments = list(Payment.objects.filter(order=order).order_by("created_at", "id"))
    errors = dict(
        PaymentOperation.objects.filter(payment__order=order, status=PaymentOperation.Status.FAILED)
        .exclude(error_message="")
        .order_by("id")
        .values_list("payment_id", "error_message")
    )
    sms = dict(
        Message.objects.filter(
            pk__in=[link.message_id for link in links if link.message_id]
        ).values_list("pk", "status")
    )
    captured, refunded, in_flight = order_payment_totals(order)
    paid = captured - refunded
    return PaymentPanel(
        order=order,
        fingerprint=fingerprint,
        payments=[PaymentRow(p, errors.get(p.pk, "")) for p in payments],
        links=[LinkRow(link, sms.get(link.message_id, "")) for link in reversed(links)],
        paid_amount=paid,
        in_flight=in_flight,
        due=max(order.total_amount - paid - in_flight, Decimal(0)),
    )


# --- The left side of the till: the product grid, search results, the stock panel -------

GRID_PAGE = 24  # tiles of the product grid per page


@dataclass(frozen=True)
class VariantChoice:
    variant: Variant
    free: int  # units the till may sell here (as on the cart's lines)
    barcode: str = ""  # its first barcode


@dataclass(frozen=True)
class Tile:
    """A product on the left side of the till: its picture (or none), its variants to
    tap (a search: those that matched; the grid: all of them), how many are not shown."""

    product: Product
    choices: list[VariantChoice]
    more: int = 0
    picture: str = ""

    @property
    def free(self) -> int:
        return sum(choice.free for choice in self.choices)

    @property
    def single(self) -> VariantChoice | None:
        """The one variant of a product that has only one (a tap adds it)."""
        return self.choices[0] if len(self.choices) == 1 and not self.more else None

    @property
    def price_low(self) -> Decimal:
        return min(choice.variant.price_amount for choice in self.choices)

    @property
    def price_high(self) -> Decimal:
        return max(choice.variant.price_amount for choice in self.choices)

    @property
    def currency(self) -> str:
        return self.choices[0].variant.currency


def _tiles(rows: list[tuple[Product, list[Variant], int]], *, location_id: int) -> list[Tile]:
    """Tiles with their barcodes, their figures here and their pictures: three queries
    for all of them."""
    variant_ids = [v.pk for _product, variants, _more in rows for v in variants]
    barcodes = first_barcodes(variant_ids)
    free = free_here(variant_ids=variant_ids, location_id=location_id)
    pictures = product_thumbnails([p.pk for p, _v, _m in rows], variant_ids=variant_ids)
    return [
        Tile(
            product=product,
            choices=[VariantChoice(v, free.get(v.pk, 0), barcodes.get(v.pk, "")) for v in variants],
            more=more,
            picture=pictures.get(product.pk, ""),
        )
        for product, variants, more in rows
    ]


SEARCH_TILES = 12  # products a search shows
SEARCH_CHOICES = 4  # variants shown per product; its "more" brings the others


def catalog_search_tiles(*, text: str, location_id: int, limit: int = SEARCH_TILES) -> list[Tile]:
    """What the seller typed, as one tile per product with its first matching variants
    (catalog.search.product_search), their figures here and the product's picture."""
    matches = product_search(text=text, limit=limit, per_product=SEARCH_CHOICES)
    rows = [(m.product, m.variants, m.more) for m in matches]
    return _tiles(rows, location_id=location_id)


def catalog_product_tile(*, product_id: int, location_id: int) -> Tile | None:
    """One product with all its active variants (a tile's "more")."""
    match = product_variants(product_id=product_id)
    if match is None:
        return None
    return _tiles([(match.product, match.variants, 0)], location_id=location_id)[0]


@dataclass(frozen=True)
class Grid:
    """The product grid: the category chips, the one chosen, a page of tiles."""

    categories: list[Category]  # the chips: the top level, and the chosen one's children
    category: Category | None
    parent: Category | None  # the chosen one's parent (a chip back up)
    tiles: list[Tile]
    page: int
    has_next: bool


def catalog_grid(*, location_id: int, slug: str = "", page: int = 1) -> Grid | None:
    """A page of the active products that have an active variant, by name (accents
    aside), in a
    category and its descendants (every category: ``slug`` empty); None for an unknown
    category. Five queries: the categories, the products, their variants, the figures
    here, the pictures."""
    categories = list(Category.objects.order_by("position", "name", "pk"))
    chosen = next((c for c in categories if c.slug == slug), None) if slug else None
    if slug and chosen is None:
        return None
    # On sale with a variant on sale, and the name folded: the products' search rows.
    products = Product.objects.filter(search__active=True)
    if chosen is not None:
        products = products.filter(category_id__in=_subtree(categories, chosen.pk))
    start = (page - 1) * GRID_PAGE
    found = list(products.order_by("search__sort_name", "pk")[start : start + GRID_PAGE + 1])
    has_next = len(found) > GRID_PAGE
    found = found[:GRID_PAGE]
    variants: dict[int, list[Variant]] = {p.pk: [] for p in found}
    for variant in Variant.objects.filter(product__in=found, is_active=True).order_by("id"):
        variants[variant.product_id].append(variant)
    by_id = {p.pk: p for p in found}
    for of_product in variants.values():
        for variant in of_product:
            variant.product = by_id[variant.product_id]
    tiles = _tiles([(p, variants[p.pk], 0) for p in found], location_id=location_id)
    chips = [c for c in categories if c.parent_id is None]
    if chosen is not None:
        chips += [c for c in categories if c.parent_id == chosen.pk]
    parent = next((c for c in categories if chosen and c.pk == chosen.parent_id), None)
    return Grid(chips, chosen, parent, tiles, page, has_next)


def _subtree(categories: list[Category], root_id: int) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category.pk)
    found, stack, seen = [], [root_id], set()
    while stack:
        node = stack.pop()
        if node in seen:  # a cycle left by hand in the database: walk it once
            continue
        seen.add(node)
        found.append(node)
        stack.extend(children.get(node, []))
    return found


@dataclass(frozen=True)
class StockRow:
    """One location's figures for the stock panel (zeros where it never had any)."""

    location: Location
    on_hand: int
    reserved_now: int
    available_now: int
    incoming: int

    @property
    def location_id(self) -> int:
        return self.location.pk


def stock_panel_rows(*, variant_id: int, location_id: int) -> list[StockRow]:
    """Where a variant is: this store first, always (with zeros when it never had any:
    "none here" is what the seller needs to see), then every other active location with
    a level. Two queries at most."""
    levels = stock_at_locations(variant_id=variant_id)
    rows = [
        StockRow(
            level.location, level.on_hand, level.reserved_now, level.available_now, level.incoming
        )
        for level in levels
    ]
    here = [row for row in rows if row.location_id == location_id]
    others = [row for row in rows if row.location_id != location_id]
    if not here:
        location = Location.objects.filter(pk=location_id).first()
        if location is not None:
            here = [StockRow(location, 0, 0, 0, 0)]
    return here + others


# --- Gift cards, points and store credit at the till (issue 14) -------------------------


def gift_card_left(payment: Payment) -> tuple[str, Decimal] | None:
    """The card a gift card payment was taken from: its last four characters and what is
    left on it now (two queries); None when the payment names no redemption."""
    from loyalty.models import GiftCardEntry
    from loyalty.services.gift_cards import gift_card_balance

    prefix, _sep, entry_id = (payment.provider_reference or "").partition("_")
    if prefix != "gc" or not entry_id.isdigit():
        return None
    entry = GiftCardEntry.objects.select_related("card").filter(pk=int(entry_id)).first()
    if entry is None:
        return None
    return entry.card.last4, gift_card_balance(entry.card)


@dataclass(frozen=True)
class CustomerBalances:
    """A customer's loyalty points (with what they pay for) and store credit, as the
    till shows them on the customer's panel and in the pay area."""

    currency: str
    store_credit: Decimal
    points: int | None = None  # None: no points programme in this currency
    points_value: Decimal = Decimal("0.00")
    programme: str = ""


def customer_balances(*, customer: Customer, currency: str) -> CustomerBalances:
    """The customer's points in the active programme of ``currency`` and their store
    credit in it: two queries (the programme, then both sums at once)."""
    from loyalty.models import PointsEntry, PointsProgramme, StoreCreditEntry
    from loyalty.services.points import points_value

    programme = PointsProgramme.objects.filter(currency=currency.upper(), is_active=True).first()
    credit = (
        StoreCreditEntry.objects.filter(customer_id=OuterRef("pk"), currency=currency.upper())
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    sums = {"credit": Coalesce(Subquery(credit), Value(Decimal("0.00")))}
    if programme is not None:
        points = (
            PointsEntry.objects.filter(customer_id=OuterRef("pk"), programme_id=programme.pk)
            .values("customer_id")
            .annotate(total=Sum("points"))
            .values("total")
        )
        sums["points"] = Coalesce(Subquery(points), Value(0))
    row = Customer.objects.filter(pk=customer.pk).annotate(**sums).values(*sums).first() or {}
    balances = CustomerBalances(currency, row.get("credit") or Decimal("0.00"))
    if programme is None:
        return balances
    held = int(row.get("points") or 0)
    return CustomerBalances(
        currency,
        balances.store_credit,
        held,
        points_value(held, programme),
        programme.name,
    )
