"""Carts: pricing and lines. The POS and the API both call these; neither writes models."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import SalesChannel, Variant
from customers.models import Customer
from inventory.exceptions import InvalidQuantity
from orders.exceptions import CartClosed, CartLineNotFound
from orders.models import Cart, CartLine
from unicommerce.money import money_round, vat_included_split

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_amount: Decimal
    total_amount: Decimal
    vat_rate: Decimal


@dataclass(frozen=True)
class CartPricing:
    currency: str
    lines: list[PricedLine]
    total_amount: Decimal
    vat_amounts: dict[Decimal, Decimal] = field(default_factory=dict)

    @property
    def item_count(self) -> int:
        return sum(p.line.quantity for p in self.lines)


def cart_price(*, cart: Cart) -> CartPricing:
    """Price a cart from today's prices (recomputed on every read, never cached)."""
    lines = list(cart.lines.select_related("variant__product").order_by("added_at", "id"))
    priced = []
    vat: dict[Decimal, Decimal] = {}
    for line in lines:
        unit = line.variant.price_amount
        total = money_round(unit * line.quantity, cart.currency)
        rate = line.variant.product.vat_rate
        priced.append(PricedLine(line, unit, total, rate))
        vat[rate] = vat.get(rate, Decimal(0)) + total
    total_amount = sum((p.total_amount for p in priced), Decimal("0.00"))
    vat_amounts = {
        rate: vat_included_split(gross, rate, cart.currency) for rate, gross in vat.items()
    }
    return CartPricing(cart.currency, priced, total_amount, vat_amounts)


def cart_create(*, channel: SalesChannel, customer: Customer | None = None) -> Cart:
    return Cart.objects.create(channel=channel, customer=customer, currency=channel.currency)


def _open(cart: Cart) -> None:
    if cart.checked_out_at is not None:
        raise CartClosed()


@transaction.atomic
def cart_line_add(*, cart: Cart, variant: Variant, quantity: int = 1) -> CartLine:
    """Add ``quantity`` of a variant; an existing line grows instead of doubling."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(quantity)
    _open(cart)
    line, created = CartLine.objects.get_or_create(
        cart=cart, variant=variant, defaults={"quantity": quantity}
    )
    if not created:
        CartLine.objects.filter(pk=line.pk).update(quantity=F("quantity") + quantity)
        line.refresh_from_db(fields=["quantity"])
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return line


@transaction.atomic
def cart_line_set_quantity(*, cart: Cart, line_id: int, quantity: int) -> CartLine | None:
    """Set a line's quantity; zero removes the line (and returns None)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidQuantity(quantity)
    _open(cart)
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise CartLineNotFound(line_id)
    if quantity == 0:
        line.delete()
        return None
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line
