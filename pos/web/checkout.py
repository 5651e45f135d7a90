"""The sale's pay area: the change for the cash typed, and checking the cart out with
each tender (cash, card, cash + card, payment link) or to be paid in store later. Each
action is a named action of ``pos.web.sale.ACTIONS``; ``sale_done`` keeps the receipt."""

from __future__ import annotations

from decimal import Decimal

from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from orders.models import Cart
from orders.pricing.carts import cart_price
from payments.services.cash import cash_change
from pos.messages import seller_message
from pos.models import Register
from pos.selectors import gift_card_left
from pos.services import (
    LedgerTenders,
    SaleResult,
    sale_complete,
    sale_pay_card,
    sale_pay_link,
    sale_pay_split,
    sale_pay_tenders,
)
from pos.web.common import (
    SESSION_ADDRESS,
    SESSION_CART,
    SESSION_GIFT_CARD,
    SESSION_LAST_SALE,
    address_kept,
)
from pos.web.gift_card_sales import cards_issue
from pos.web.workspace import workspace_context
from unicommerce.access.pos import pos_limits_count
from unicommerce.exceptions import DomainError, InvalidInput
from unicommerce.money import parse_amount


def _tendered(request, pricing, *, part: bool = False) -> Decimal:
    """The cash typed (``part``: the cash part of cash + card)."""
    try:
        return parse_amount(request.POST.get("tendered", ""), pricing.currency)
    except ValueError:
        if part:
            message = _("Type the cash part, e.g. 20 or 20.50.")
        else:
            message = _("Type the cash received, e.g. 50 or 20.50.")
        raise InvalidInput(message, field="tendered") from None


def change(request, register: Register, cart: Cart):
    """What the cash typed so far gives back (cash), or how the total splits between the
    cash part and the card (cash + card): nothing is recorded."""
    pricing = cart_price(cart=cart, channel=register.channel, location=register.location)
    context = workspace_context(request, register, cart, pricing=pricing)
    split = request.POST.get("tender") == "split"
    try:
        tendered = _tendered(request, pricing, part=split)
        context["tendered"] = tendered
        if split and Decimal(0) < tendered < pricing.total_amount:
            context["card_part"] = pricing.total_amount - tendered
        elif split and tendered <= 0:
            raise DomainError(_("Type the cash part, e.g. 20 or 20.50."))
        else:
            context["change"] = cash_change(
                due=pricing.total_amount, tendered=tendered, currency=pricing.currency
            )
    except DomainError as error:
        context["change_error"] = seller_message(error)
    partial = "split_preview" if split else "change"
    return TemplateResponse(request, f"pos/_tenders.html#{partial}", context)


def complete(request, register: Register, cart: Cart):
    """Check the cart out at this register: cash now (the default), or "pay in store"
    for an order paid later (a line shipped home or collected elsewhere, for instance)."""
    method = request.POST.get("method") or "cash"
    if method not in ("cash", "pay_in_store"):
        # The other tenders have their own action (a link is sent, a card recorded):
        # never an order waiting for a payment nobody started.
        raise InvalidInput(_("Choose how the customer pays."))
    tendered = None
    if method == "cash":
        tendered = _tendered(
            request, cart_price(cart=cart, channel=register.channel, location=register.location)
        )
    result = sale_complete(
        register=register,
        cart=cart,
        payment_method=method,
        tendered=tendered,
        seller=request.user,
        shipping_address=address_kept(request, cart),
    )
    sale_done(request, result, "cash" if method == "cash" else "pay_in_store")
    return {"clear_customer": True}


def sale_done(request, result: SaleResult, tender: str) -> None:
    """The sale is checked out: its receipt (``tender``: how it was paid, or
    ``pay_in_store``), and the register starts a new cart."""
    payment, card = result.payment, result.card
    cards = cards_issue(request, result.order, request.session.get(SESSION_CART, ""))
    request.session[SESSION_LAST_SALE] = {
        **cards,
        "order_id": result.order.pk,
        "reference": result.order.reference,
        "total": str(result.order.total_amount),
        "method": tender,
        "tendered": str(payment.tendered_amount or payment.amount) if payment else "",
        "change": str(result.change_amount or 0) if payment else "",
        "card": str(card.amount) if card else "",
        "currency": result.order.currency,
        "tenders": _tenders_of(result),
    }
    request.session.pop(SESSION_CART, None)
    request.session.pop(SESSION_ADDRESS, None)
    request.session.pop(SESSION_GIFT_CARD, None)


def _tenders_of(result: SaleResult) -> list[dict]:
    """Each tender of a split payment as the receipt shows it: its method, the amount
    taken, and for a gift card its last four characters and what is left on it."""
    rows = []
    for payment in result.ledger:
        row = {"method": payment.method, "amount": str(payment.amount)}
        if payment.method == "gift_card":
            card = gift_card_left(payment)
            if card is not None:
                row.update(last4=card[0], balance=str(card[1]))
        rows.append(row)
    if result.ledger and result.payment is not None:
        rows.append({"method": "cash", "amount": str(result.payment.amount)})
    if result.ledger and result.card is not None:
        rows.append({"method": "card_terminal", "amount": str(result.card.amount)})
    return rows


# --- The other tenders of the pay area (pos/tenders.py): one action each -------------


def pay_card(request, register: Register, cart: Cart):
    """Card on the terminal: the terminal approved the total; the sale is checked out and
    the approval recorded, in one action."""
    result = sale_pay_card(
        register=register,
        cart=cart,
        seller=request.user,
        idempotency_key=request.POST.get("key", ""),
        shipping_address=address_kept(request, cart),
    )
    sale_done(request, result, "card")
    return {"clear_customer": True}


def pay_split(request, register: Register, cart: Cart):
    """Cash + card: the cash part first, the remainder on the card terminal."""
    pricing = cart_price(cart=cart, channel=register.channel, location=register.location)
    result = sale_pay_split(
        register=register,
        cart=cart,
        seller=request.user,
        cash=_tendered(request, pricing, part=True),
        idempotency_key=request.POST.get("key", ""),
        shipping_address=address_kept(request, cart),
    )
    sale_done(request, result, "split" if result.card else "cash")
    return {"clear_customer": True}


def pay_link(request, register: Register, cart: Cart):
    """Payment link: the order is placed and the customer gets a link by SMS; the receipt
    follows the link's status live."""
    pos_limits_count(request)  # an SMS: the permission table's limit, refused inline
    result = sale_pay_link(
        register=register,
        cart=cart,
        seller=request.user,
        phone=request.POST.get("phone", ""),
        language=request.POST.get("language", "fr"),
        idempotency_key=request.POST.get("key", ""),
        shipping_address=address_kept(request, cart),
    )
    sale_done(request, result, "link")
    return {"clear_customer": True}


def _optional_amount(request, name: str, currency: str) -> Decimal:
    text = request.POST.get(name, "").strip()
    if not text:
        return Decimal(0)
    try:
        amount = parse_amount(text, currency)
    except ValueError:
        amount = Decimal(-1)
    if amount < 0:
        raise InvalidInput(_("Type an amount, e.g. 50 or 20.50."), field=name)
    return amount


def scanned_card(request, cart: Cart) -> dict | None:
    """The gift card scanned for this cart (``pos.web.discounts.code_scanned``)."""
    card = request.session.get(SESSION_GIFT_CARD) or {}
    return card if card.get("cart") == cart.token else None


def pay_tenders(request, register: Register, cart: Cart):
    """Gift card, points, store credit, then the rest in cash (the cash received typed)
    or on the card terminal (``rest=card``): see ``pos.services.sale_pay_tenders``."""
    pricing = cart_price(cart=cart, channel=register.channel, location=register.location)
    currency = pricing.currency
    code = request.POST.get("gift_card_code", "").strip()
    if not code and (card := scanned_card(request, cart)):
        code = card["code"]
    tenders = LedgerTenders(
        gift_card_code=code,
        gift_card_amount=_optional_amount(request, "gift_card_amount", currency),
        points_amount=_optional_amount(request, "points_amount", currency),
        store_credit_amount=_optional_amount(request, "store_credit_amount", currency),
    )
    if tenders.gift_card_amount > 0 and not code:
        raise InvalidInput(_("Scan or type the gift card’s code."), field="gift_card_code")
    cash = None
    if request.POST.get("rest") != "card" and pricing.total_amount > tenders.total:
        cash = _tendered(request, pricing, part=True)
    result = sale_pay_tenders(
        register=register,
        cart=cart,
        seller=request.user,
        tenders=tenders,
        cash=cash,
        idempotency_key=request.POST.get("key", ""),
        shipping_address=address_kept(request, cart),
    )
    sale_done(request, result, "tenders")
    return {"clear_customer": True}


def new_sale(request, register: Register, cart: Cart):
    request.session.pop(SESSION_LAST_SALE, None)
