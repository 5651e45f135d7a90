"""At the till, "place the order, pay in store later" no longer lets the goods leave
unpaid: the items taken now stay held in the store, the receipt says they are handed
over once paid, the order is on the store's "waiting for payment" list, and paying it in
full at the payment panel hands them over."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from inventory.models import StockLevel
from orders.models import Order, OrderLine
from orders.services.carts import cart_create, cart_line_add
from pos.services import sale_complete
from tests.factories import LocationFactory, RegisterFactory, SalesChannelFactory, UserFactory
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db
UNPAID = "/pos/unpaid/"


def level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


def form_key(fragment: str, action: str) -> str:
    pattern = rf'name="action" value="{action}"><input type="hidden" name="key" value="(\w+)"'
    return re.search(pattern, fragment).group(1)


def test_placed_to_pay_later_the_goods_stay_until_paid_in_full_at_the_panel(till, shop, tee, scarf):
    till.post(SELL, {"action": "add", "variant": tee.pk}, **HX)
    till.post(SELL, {"action": "add", "variant": scarf.pk}, **HX)

    placed = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    fragment = placed.content.decode()
    assert placed.status_code == 200
    assert fragment.count("handed over once paid") == 2
    assert "taken now" not in fragment
    order = Order.objects.get()
    assert (order.status, order.payment_status) == ("placed", "unpaid")
    assert level(tee, shop.store) == (5, 1)  # held here, not gone
    assert level(scarf, shop.store) == (3, 1)
    # On this store's waiting list, opening its payment panel.
    waiting = till.get(UNPAID).content.decode()
    assert f'data-order="{order.reference}"' in waiting
    assert f'href="/pos/orders/{order.reference}/payment/"' in waiting
    assert "goods waiting here" in waiting

    panel = till.get(f"/pos/orders/{order.reference}/payment/", **HX).content.decode()
    part = till.post(
        f"/pos/orders/{order.reference}/payment/",
        {"action": "cash", "tendered": "20", "key": form_key(panel, "cash")},
        **HX,
    ).content.decode()
    assert level(tee, shop.store) == (5, 1)  # part paid: still here
    paid = till.post(
        f"/pos/orders/{order.reference}/payment/",
        {"action": "card", "card_amount": "28.90", "key": form_key(part, "card")},
        **HX,
    )

    assert 'class="paid-title">Paid<' in paid.content.decode()
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("fulfilled", "paid")
    assert set(OrderLine.objects.filter(order=order).values_list("status", flat=True)) == {
        "fulfilled"
    }
    assert level(tee, shop.store) == (4, 0)
    assert level(scarf, shop.store) == (2, 0)
    assert f'data-order="{order.reference}"' not in till.get(UNPAID).content.decode()


def test_the_waiting_list_is_this_stores_and_is_linked_from_the_sale_screen(
    till, shop, tee, stocked_variant
):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=tee, quantity=1, channel=shop.store_channel)
    ours = sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    ).order
    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[lyon_channel])
    lyon_seller = UserFactory(username="lyon-seller", role="seller")
    lyon.staff.add(lyon_seller)
    cap = stocked_variant(sku="CAP-1")
    from inventory.services.stock import stock_receive

    stock_receive(variant_id=cap.pk, location_id=lyon.pk, quantity=2)
    lyon_cart = cart_create(channel=lyon_channel)
    cart_line_add(cart=lyon_cart, variant=cap, quantity=1, channel=lyon_channel)
    from pos.sessions import session_open

    lyon_till = RegisterFactory(code="lyon-1", name="Lyon 1", location=lyon, channel=lyon_channel)
    session_open(register=lyon_till, user=lyon_seller, counted="0.00")
    theirs = sale_complete(
        register=lyon_till,
        cart=lyon_cart,
        payment_method="pay_in_store",
        seller=lyon_seller,
    ).order
    paid_cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=paid_cart, variant=tee, quantity=1, channel=shop.store_channel)
    paid = sale_complete(
        register=shop.register,
        cart=paid_cart,
        payment_method="cash",
        tendered=Decimal("20"),
        seller=shop.seller,
    ).order

    page = till.get(UNPAID).content.decode()

    assert f'data-order="{ours.reference}"' in page
    assert f'data-order="{theirs.reference}"' not in page
    assert f'data-order="{paid.reference}"' not in page
    assert 'href="/pos/unpaid/"' in till.get(SELL).content.decode()
    assert 'href="/pos/unpaid/"' in till.get("/pos/returns/").content.decode()


def test_nothing_waiting_is_said(till):
    page = till.get(UNPAID).content.decode()

    assert "Nothing is waiting for payment." in page
