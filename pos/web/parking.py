"""The till's park, recall and void actions (``pos.parking``): each answers the
workspace, the sale in progress being the register's current cart."""

from __future__ import annotations

from pos.models import Register
from pos.parking import SalePaidNotVoidable, sale_park, sale_recall, sale_void
from pos.web.common import (
    SESSION_ADDRESS,
    SESSION_CARD_CODES,
    SESSION_CART,
    SESSION_GIFT_CARD,
    SESSION_LAST_SALE,
    cart_in_session,
)
from unicommerce.converters import whole_number


def _start_afresh(request) -> None:
    for key in (SESSION_CART, SESSION_ADDRESS, SESSION_GIFT_CARD, SESSION_CARD_CODES):
        request.session.pop(key, None)


def park(request, register: Register, cart) -> dict:
    sale_park(register=register, cart=cart, seller=request.user, note=request.POST.get("note", ""))
    _start_afresh(request)
    return {"parked_now": True}


def recall(request, register: Register, cart) -> dict:
    recalled = sale_recall(
        register=register,
        parked_id=whole_number(request.POST.get("parked", ""), minimum=1) or 0,
        current=cart_in_session(request, register),
        seller=request.user,
    )
    _start_afresh(request)
    request.session[SESSION_CART] = recalled.token
    return {"recalled_now": True}


def void(request, register: Register, cart) -> dict:
    last_sale = request.session.get(SESSION_LAST_SALE)
    if last_sale and not cart.lines.exists():  # the sale on screen is the one just paid
        raise SalePaidNotVoidable(last_sale.get("reference", ""))
    sale_void(
        register=register, cart=cart, seller=request.user, reason=request.POST.get("reason", "")
    )
    _start_afresh(request)
    return {"voided_now": True}
