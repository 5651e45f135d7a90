"""Discounts and tenders under real concurrency (real PostgreSQL connections, one per
thread), end to end: 16 web buyers of a voucher's last use get one order; two tills
spending a gift card's last 50.00 on two orders: one is paid by the card, the other is
refused and pays otherwise. And the French example: a gift card is a tender, so an order
of 100.00 at 20 % paid 50.00 by card still carries 16.67 of VAT."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.exceptions import VoucherExhausted
from loyalty.models import Promotion, VoucherRedemption
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue
from orders.models import Order
from orders.services.cart_discounts import cart_voucher_apply
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from payments.exceptions import PaymentDeclined
from payments.services.start import payment_start
from tests.loyalty.voucher_data import campaign, code
from tests.orders.conftest import ADDRESS
from tests.orders.test_checkout_concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _cart_with(shop, variant, voucher: str | None = None):
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)
    if voucher:
        cart_voucher_apply(cart=cart, code=voucher, caller="test")
    return cart


def test_16_buyers_of_a_vouchers_last_use_get_one_order(shop, stocked_variant):
    variant = stocked_variant(warehouse=100, price_amount=D("40.00"))
    last = campaign(usage_limit=1)
    code(last, "LAST1USE")
    carts = [_cart_with(shop, variant, "LAST1USE") for _ in range(16)]

    outcomes = run_concurrently(
        16,
        lambda i: order_checkout(
            cart=carts[i],
            channel=shop.web,
            payment_method="pay_in_store",
            shipping_address=ADDRESS,
        ),
    )

    placed = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, VoucherExhausted)]
    assert len(placed) == 1, outcomes
    assert len(refused) == 15, [o for o in outcomes if not isinstance(o, Order)]
    assert placed[0].total_amount == D("36.00")
    assert Order.objects.count() == 1
    assert Promotion.objects.get().used_count == 1
    assert VoucherRedemption.objects.get().reference == placed[0].reference


def _placed_order(shop, variant) -> Order:
    return order_checkout(
        cart=_cart_with(shop, variant),
        channel=shop.web,
        payment_method="pay_later",
        shipping_address=ADDRESS,
    )


def test_two_tills_spending_a_cards_last_50_make_one_redemption(shop, stocked_variant):
    variant = stocked_variant(warehouse=10, price_amount=D("50.00"))
    issued = gift_card_issue(amount=D("50.00"), currency="EUR", purpose="multi")
    orders = [_placed_order(shop, variant) for _ in range(2)]

    outcomes = run_concurrently(
        2,
        lambda i: payment_start(
            order=orders[i],
            method="gift_card",
            amount=D("50.00"),
            token=issued.code,
            idempotency_key=f"till-{i}",
        ),
    )

    declined = [o for o in outcomes if isinstance(o, PaymentDeclined)]
    paid = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(paid), len(declined)) == (1, 1), outcomes
    assert gift_card_balance(issued.card) == D("0.00")
    statuses = sorted(Order.objects.values_list("payment_status", flat=True))
    assert statuses == ["paid", "unpaid"]


def test_a_gift_card_pays_half_and_the_vat_stays_on_the_whole_order(shop, stocked_variant):
    """French example: goods of 100.00 at 20 % carry 16.67 of VAT whatever pays for
    them; the card's 50.00 is a tender, not a discount."""
    variant = stocked_variant(warehouse=10, price_amount=D("100.00"))
    issued = gift_card_issue(amount=D("50.00"), currency="EUR", purpose="multi")
    order = _placed_order(shop, variant)

    payment_start(
        order=order, method="gift_card", amount=D("50.00"), token=issued.code, idempotency_key="g"
    )

    order.refresh_from_db()
    line = order.lines.get()
    assert (order.total_amount, order.discount_amount) == (D("100.00"), D("0.00"))
    assert (line.vat_amount, line.discount_amount) == (D("16.67"), D("0.00"))
    assert order.payment_status == "partially_paid"
