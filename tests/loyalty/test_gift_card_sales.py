"""Selling gift cards (orders.services.gift_card_sales): once the order is paid, each unit
of a gift-card line becomes a card of what was paid for it, sent by e-mail or SMS, once
whatever the retries; the till's scanned physical cards keep their own codes."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from loyalty.exceptions import GiftCardAlreadySpent
from loyalty.models import GiftCard
from loyalty.services.gift_cards import gift_card_balance, gift_card_code_new, gift_card_redeem
from orders.models import Fulfilment, Order, OrderEvent, OrderLine
from orders.services.gift_card_sales import (
    gift_card_unit_amounts,
    order_gift_cards_issue,
    order_line_gift_cards_void,
)
from payments.registry import payments_strategies_register
from payments.services.start import payment_start
from tests.conftest import run_outbox
from tests.factories import CustomerFactory, VariantFactory
from unicommerce.messaging.models import Message

D = Decimal


@pytest.fixture(autouse=True)
def wired():
    payments_strategies_register()


def order_of(shop, *, quantity=3, total="100.00", kind="multi", **contact) -> Order:
    order = Order.objects.create(
        channel=shop.web,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=D(total) + D("10.00"),
        **contact,
    )
    variant = VariantFactory(product__gift_card=kind)
    OrderLine.objects.create(
        order=order,
        variant=variant,
        sku=variant.sku,
        name="Gift card",
        quantity=quantity,
        unit_price_amount=D(total) / quantity,
        vat_rate=D("0"),
        total_amount=D(total),
        fulfilment=Fulfilment.SHIP,
        location=shop.warehouse,
    )
    plain = VariantFactory()
    OrderLine.objects.create(
        order=order,
        variant=plain,
        sku=plain.sku,
        name="Socks",
        quantity=1,
        unit_price_amount=D("10.00"),
        vat_rate=D("20"),
        total_amount=D("10.00"),
        fulfilment=Fulfilment.SHIP,
        location=shop.warehouse,
    )
    return order


def test_units_split_the_line_to_the_cent():
    line = OrderLine(quantity=3, total_amount=D("100.00"))
    assert gift_card_unit_amounts(line) == [D("33.34"), D("33.33"), D("33.33")]
    assert sum(gift_card_unit_amounts(OrderLine(quantity=7, total_amount=D("0.05")))) == D("0.05")


def test_a_paid_order_issues_one_e_card_per_unit_by_e_mail_once(shop):
    buyer = CustomerFactory()
    order = order_of(shop, email="ana@example.com", customer=buyer)

    payment_start(order=order, method="cash", amount=D("110"), idempotency_key="c")
    run_outbox()

    cards = list(GiftCard.objects.order_by("id"))
    assert [c.initial_amount for c in cards] == [D("33.34"), D("33.33"), D("33.33")]
    assert {(c.delivery, c.recipient, c.purpose, c.source, c.customer) for c in cards} == {
        ("email", "ana@example.com", "multi", order.reference, buyer)
    }
    assert [gift_card_balance(c) for c in cards] == [D("33.34"), D("33.33"), D("33.33")]
    messages = list(Message.objects.filter(kind="gift_card").order_by("id"))
    assert len(messages) == 3
    assert all(m.channel == "email" and m.redact_after_send for m in messages)
    for card, message in zip(cards, messages, strict=True):
        code = message.body.split("code ")[1].split(",")[0].replace("-", "")
        assert hashlib.sha256(code.encode()).hexdigest() == card.code_hash
    assert OrderEvent.objects.filter(order=order, kind="gift_card_issued").count() == 3

    # The event handled again, or the sale called again: nothing new.
    assert [c.code for c in order_gift_cards_issue(order)] == ["", "", ""]
    assert (GiftCard.objects.count(), Message.objects.filter(kind="gift_card").count()) == (3, 3)


def test_without_an_e_mail_the_card_goes_by_sms(shop):
    order = order_of(shop, quantity=1, total="25.00", phone="+33612345678")

    issued = order_gift_cards_issue(order)

    assert [(i.card.delivery, i.card.recipient) for i in issued] == [("sms", "+33612345678")]
    assert Message.objects.get(kind="gift_card").channel == "sms"


def test_no_code_and_no_contact_issues_nothing_and_says_so_on_the_timeline(shop):
    order = order_of(shop, quantity=2, total="40.00")

    assert order_gift_cards_issue(order) == []

    assert not GiftCard.objects.exists()
    assert OrderEvent.objects.filter(order=order, kind="gift_card_not_issued").count() == 2


def test_the_till_gives_the_scanned_physical_cards_and_the_event_then_skips_them(shop):
    order = order_of(shop, quantity=2, total="40.00", email="ana@example.com")
    line = order.lines.exclude(variant__product__gift_card="").get()
    codes = [gift_card_code_new(), gift_card_code_new()]

    issued = order_gift_cards_issue(order, codes={line.pk: codes})
    order_gift_cards_issue(order)  # the order.paid event, later

    assert [i.code for i in issued] == codes
    assert list(GiftCard.objects.order_by("id").values_list("delivery", "initial_amount")) == [
        ("physical", D("20.00")),
        ("physical", D("20.00")),
    ]
    assert not Message.objects.filter(kind="gift_card").exists()


def test_a_stores_sale_is_the_tills_to_issue_never_the_events(shop):
    order = order_of(shop, quantity=1, total="30.00", email="ana@example.com")
    order.channel = shop.store_channel
    order.save(update_fields=["channel"])

    payment_start(order=order, method="cash", amount=D("40"), idempotency_key="c")
    run_outbox()

    assert not GiftCard.objects.exists()
    line = order.lines.exclude(variant__product__gift_card="").get()
    code = gift_card_code_new()
    assert [i.code for i in order_gift_cards_issue(order, codes={line.pk: [code]})] == [code]
    assert GiftCard.objects.get().delivery == "physical"


def test_cards_sold_are_taken_back_unused_only_all_or_none(shop):
    order = order_of(shop, quantity=3, total="90.00", email="ana@example.com")
    issued = order_gift_cards_issue(order)
    line = order.lines.exclude(variant__product__gift_card="").get()
    first, second, third = (i.card for i in issued)
    gift_card_redeem(card=second, amount=D("1"), reference="UC9", idempotency_key=None)

    with pytest.raises(GiftCardAlreadySpent) as refused:
        order_line_gift_cards_void(line=line, units=2)  # the last two: third, then second

    assert refused.value.details["last4"] == second.last4
    assert [gift_card_balance(c) for c in (first, second, third)] == [D("30"), D("29"), D("30")]
    assert GiftCard.objects.filter(is_active=False).count() == 0

    taken = order_line_gift_cards_void(line=line, units=1)

    assert [c.pk for c in taken] == [third.pk]
    third.refresh_from_db()
    assert (third.is_active, gift_card_balance(third)) == (False, D("0.00"))
    assert third.entries.get(kind="adjust").reason == f"sale taken back ({order.reference})"
