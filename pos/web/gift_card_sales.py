"""Selling a gift card at the till (issue 14): the seller scans the code of each physical
card handed over into its line (one code per unit), and once the sale is paid the cards
are issued with those codes (``orders.services.gift_card_sales.order_gift_cards_issue``;
a unit without a scanned code becomes an e-card sent to the order's e-mail or phone, or
waits on the order's timeline). The codes are kept in the session until the sale."""

from __future__ import annotations

from django.utils.translation import gettext as _

from loyalty.exceptions import GiftCardCodeInvalid
from loyalty.services.gift_cards import gift_card_code_normalise, gift_card_code_valid
from orders.models import Cart, CartLine, Order
from orders.services.gift_card_sales import gift_card_lines, order_gift_cards_issue
from pos.models import Register
from pos.web.common import SESSION_CARD_CODES
from unicommerce.converters import whole_number
from unicommerce.exceptions import DomainError, InvalidInput


def card_codes(request, cart: Cart) -> dict[str, list[str]]:
    """The codes scanned for this cart's gift card lines, by variant id (as a string)."""
    kept = request.session.get(SESSION_CARD_CODES) or {}
    return kept.get("codes", {}) if kept.get("cart") == cart.token else {}


def card_code(request, register: Register, cart: Cart):
    """The code of a physical card scanned into its gift card line: one per unit."""
    line_id = whole_number(request.POST.get("line", ""), minimum=1)
    line = CartLine.objects.filter(cart=cart, pk=line_id).select_related("variant__product").first()
    if line is None or not line.variant.product.gift_card:
        raise InvalidInput(_("Choose a gift card line of the cart."))
    code = gift_card_code_normalise(request.POST.get("card_code", ""))
    if not gift_card_code_valid(code):
        raise GiftCardCodeInvalid(reason="format")
    codes = card_codes(request, cart)
    mine = codes.get(str(line.variant_id), [])
    if any(code in other for other in codes.values()):
        raise InvalidInput(_("This card is already scanned for this sale."))
    if len(mine) >= line.quantity:
        raise InvalidInput(_("Every card of this line is scanned already."))
    codes[str(line.variant_id)] = [*mine, code]
    request.session[SESSION_CARD_CODES] = {"cart": cart.token, "codes": codes}
    return {"card_scanned": True}


def card_codes_clear(request, register: Register, cart: Cart):
    """Start the line's codes again (a wrong card scanned)."""
    codes = card_codes(request, cart)
    codes.pop(request.POST.get("variant", ""), None)
    request.session[SESSION_CARD_CODES] = {"cart": cart.token, "codes": codes}


def cards_issue(request, order: Order, cart_token: str) -> dict:
    """Once the sale is paid: issue the cards it sold, with the codes scanned for it.
    What the receipt says: the cards issued (last four characters) or why not."""
    kept = request.session.get(SESSION_CARD_CODES) or {}
    if cart_token and kept.get("cart") == cart_token:
        request.session.pop(SESSION_CARD_CODES, None)
    status = Order.objects.filter(pk=order.pk).values_list("payment_status", flat=True).first()
    if status != Order.PaymentStatus.PAID:  # the order as it is now, not as it was placed
        return {}
    lines = gift_card_lines(order)
    if not lines:
        return {}
    scanned = kept.get("codes", {}) if cart_token and kept.get("cart") == cart_token else {}
    codes: dict[int, list[str]] = {}
    for line in lines:  # a variant's codes, over its order lines in turn
        pool = scanned.get(str(line.variant_id), [])
        codes[line.pk], scanned[str(line.variant_id)] = pool[: line.quantity], pool[line.quantity :]
    try:
        issued = order_gift_cards_issue(order, codes=codes)
    except DomainError as error:
        return {"cards_error": error.message}
    return {"cards": [card.card.last4 for card in issued]}
