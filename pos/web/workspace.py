"""The sale screen's workspace: the context every part of it is rendered from (the
register, the cart priced, its stock here, the last sale's receipt, the pay area, the
"Sell anyway" of short lines) and the answer of an action (the workspace partial, or a
redirect to the full page without htmx). What is costly is read only if the template
shows it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from inventory.models import Location, UnbookedSale
from orders.models import Cart, CartDiscount, Fulfilment, Order
from orders.pricing.carts import cart_price
from orders.services.unbooked import cart_unbooked_sales
from pos.fiscal.tickets import order_vat_rows
from pos.forms import ShippingAddressForm
from pos.models import Register
from pos.parking import parked_at
from pos.selectors import (
    CartStock,
    CustomerBalances,
    PaymentPanel,
    collect_stores,
    customer_balances,
    order_receipt,
    payment_panel,
)
from pos.tenders import DEFAULT_TENDER, TENDERS
from pos.web.common import SESSION_GIFT_CARD, SESSION_LAST_SALE, address_kept, cart_current
from pos.web.gift_card_sales import card_codes

CASH_NOTES = [10, 20, 50, 100]


def workspace_context(request, register: Register, cart: Cart, *, pricing=None, **extra) -> dict:
    """The context of ``pos/sell.html`` (``extra``: what the action adds or overrides)."""
    pricing = pricing or cart_price(cart=cart, channel=register.channel, location=register.location)
    last_sale = request.session.get(SESSION_LAST_SALE)
    context = {
        "register": register,
        "cart": cart,
        "pricing": pricing,
        "cart_stock": CartStock(location_id=register.location_id, pricing=pricing),
        "last_sale": last_sale,
        "receipt": _LazyReceipt(last_sale),
        "cash_notes": CASH_NOTES,
        "stores": _LazyStores(register.location_id),
        "shipping_address": address_kept(request, cart),
        "ships": any(p.line.fulfilment == Fulfilment.SHIP for p in pricing.lines),
        "Fulfilment": Fulfilment,
        "tenders": TENDERS,
        "tender": DEFAULT_TENDER,
        "gift_card": _scanned_card(request, cart),
        "balances": _LazyBalances(cart, pricing.currency),
        "discount_form": {},
        "manual": _LazyManual(cart, pricing),
        "card_codes": card_codes(request, cart),
        "parked": _LazyParked(register),
    }
    context.update(extra)
    context["ledger_posted"] = context.get("posted") if context["tender"] == "ledger" else None
    if context["gift_card"]:  # what the scanned card pays by default: all it can
        context["gift_card"] = card = dict(context["gift_card"])  # not the session's
        card["suggested"] = min(Decimal(card["balance"]), pricing.total_amount)
    context["unbooked"] = unbooked = _LazyUnbooked(
        register, context["cart_stock"], extra.get("unbooked_form")
    )
    if unbooked.error_elsewhere:
        context["error"] = unbooked.error_elsewhere
    if context["ships"] and "address_form" not in extra:
        customer = cart.customer
        name = f"{customer.first_name} {customer.last_name}".strip() if customer else ""
        context["address_form"] = ShippingAddressForm(initial={"name": name, "country": "FR"})
    return context


def _scanned_card(request, cart: Cart) -> dict | None:
    """The gift card scanned for this cart, shown in the pay area (its balance then)."""
    card = request.session.get(SESSION_GIFT_CARD) or {}
    return card if card.get("cart") == cart.token else None


class _LazyBalances:
    """The cart's customer's points and store credit, read only if the pay area's
    gift card / points / credit tender is shown (two queries)."""

    def __init__(self, cart: Cart, currency: str) -> None:
        self.cart = cart
        self.currency = currency

    @cached_property
    def of(self) -> CustomerBalances | None:
        if not self.cart.customer_id:
            return None
        return customer_balances(customer=self.cart.customer, currency=self.currency)


class _LazyManual:
    """The cart's basket-wide manual discount (one query, read only if the cart shows
    discounts): its row and what it takes off in all."""

    def __init__(self, cart: Cart, pricing) -> None:
        self.cart = cart
        self.pricing = pricing

    @cached_property
    def basket(self) -> CartDiscount | None:
        if not any(d.source == "manual" for p in self.pricing.lines for d in p.discounts):
            return None
        return CartDiscount.objects.filter(cart=self.cart, line__isnull=True).first()

    @property
    def basket_id(self):
        return self.basket.pk if self.basket else None

    @property
    def basket_amount(self):
        key = self.basket_id
        return sum(
            (d.amount for p in self.pricing.lines for d in p.discounts if d.source_id == key),
            Decimal("0.00"),
        )


class _LazyReceipt:
    """The last sale's order, read only if the receipt is shown."""

    def __init__(self, last_sale: dict | None) -> None:
        self.order_id = (last_sale or {}).get("order_id")

    @cached_property
    def order(self) -> Order | None:
        return order_receipt(order_id=self.order_id) if self.order_id else None

    @cached_property
    def vat(self) -> list:
        """The VAT per rate of the order's lines after their discounts (HT, TVA, TTC)."""
        return order_vat_rows(list(self.order.lines.all())) if self.order else []

    @cached_property
    def discount_amount(self):
        if self.order is None:
            return 0
        return sum((line.discount_amount for line in self.order.lines.all()), 0)

    @cached_property
    def payment_panel(self) -> PaymentPanel | None:
        """The order's payments and the tenders (split tender, payment link), for an
        order placed to be paid in store (pos/web/payments.py)."""
        return payment_panel(order_id=self.order_id) if self.order_id else None


class _LazyStores:
    """The other stores a line may be collected from, read only if a line is shown."""

    def __init__(self, location_id: int) -> None:
        self.location_id = location_id

    @cached_property
    def all(self) -> list[Location]:
        return collect_stores(exclude_id=self.location_id)

    def __iter__(self):
        return iter(self.all)


class _LazyParked:
    """The sales parked at this register, read only if the page shows them (an empty
    sale)."""

    def __init__(self, register: Register) -> None:
        self.register = register

    @cached_property
    def all(self) -> list:
        return parked_at(self.register)

    def __iter__(self):
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)


def workspace_respond(request, register, cart, *, error: str = "", status: int = 200, **extra):
    """The workspace partial for htmx; a redirect to the full page otherwise. The cart
    shown is the register's current one, which the action may have changed (a cart
    opened, merged on identification, or sold)."""
    cart = cart_current(request, register)
    if not request.htmx:
        if error:
            messages.error(request, " ".join([error, *extra.get("error_lines", [])]))
        return redirect("pos:sell")
    context = workspace_context(request, register, cart, error=error, **extra)
    return TemplateResponse(request, "pos/sell.html#workspace_response", context, status=status)


# --- Selling an item the books say is not here (issue 12) -------------------------------


@dataclass(frozen=True)
class UnbookedState:
    """A taken-now line the books lack units of here, as its "Sell anyway" shows it."""

    line_id: int
    missing: int  # units the books lack here for this line now
    approval: UnbookedSale | None  # granted for this line, not yet sold
    error: str = ""  # the refusal of the last attempt, said in the line's form
    reason: str = ""
    note: str = ""

    @property
    def covered(self) -> bool:
        return self.approval is not None and self.approval.quantity >= self.missing


class _LazyUnbooked:
    """The store's policy and, per short taken-now line, the override granted for it
    (one query, read only if the cart has such a line)."""

    def __init__(self, register: Register, cart_stock: CartStock, form: dict | None) -> None:
        self.register = register
        self.cart_stock = cart_stock
        self.form = form or {}

    @property
    def policy(self) -> str:
        return self.register.location.unbooked_sale_policy

    @property
    def allowed(self) -> bool:
        return self.policy != Location.UnbookedSalePolicy.REFUSE

    @property
    def needs_approval(self) -> bool:
        return self.policy == Location.UnbookedSalePolicy.APPROVAL

    reasons = UnbookedSale.Reason.choices

    @property
    def error_elsewhere(self) -> str:
        """A refusal whose line shows no "Sell anyway" form (the store refuses, or the
        books have enough after all): said in the sale's message area instead."""
        error, line_id = self.form.get("error", ""), self.form.get("line")
        if not error or any(state.line_id == line_id for state in self.states):
            return ""
        return error

    @cached_property
    def states(self) -> list[UnbookedState]:
        if not self.allowed:
            return []
        short = [row for row in self.cart_stock.rows if row.where == "here" and row.short]
        if not short:
            return []
        granted = cart_unbooked_sales(
            line_ids=[row.priced.line.pk for row in short],
            location_id=self.register.location_id,
        )
        states = []
        for row in short:
            line = row.priced.line
            form = self.form if self.form.get("line") == line.pk else {}
            states.append(
                UnbookedState(
                    line_id=line.pk,
                    missing=line.quantity - row.free,
                    approval=granted.get(line.pk),
                    error=form.get("error", ""),
                    reason=form.get("reason", ""),
                    note=form.get("note", ""),
                )
            )
        return states
