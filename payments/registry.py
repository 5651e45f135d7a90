"""Payments' strategies, registered once at start-up by ``PaymentsConfig.ready()``: the
gateways (chosen by ``PAYMENT_GATEWAY`` and by method), the refund methods, and the
payment methods checkout offers (``orders.payment_methods``). Calling it again puts the
built-in entries back (tests that swap one use it)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def payments_strategies_register() -> None:
    gateways_register()
    refund_methods_register()
    payment_methods_register()


def gateways_register() -> None:
    from payments.gateways import gateway_register
    from payments.gateways.manual import ManualGateway
    from payments.gateways.simulated import SimulatedGateway
    from payments.gateways.store_credit import STORE_CREDIT, StoreCreditGateway
    from payments.gateways.stripe import StripeGateway

    gateway_register("manual", ManualGateway)
    gateway_register("simulated", SimulatedGateway, when_configured=True)
    gateway_register("stripe", StripeGateway.from_settings, when_configured=True)
    gateway_register(STORE_CREDIT, StoreCreditGateway)
    # Points (issue 14): a ledger of loyalty, like store credit.
    from payments.gateways.points import POINTS, PointsGateway

    gateway_register(POINTS, PointsGateway)
    # Gift cards (issue 14): the token is the card's code (payments.gateways.gift_card).
    from payments.gateways.gift_card import GIFT_CARD, GiftCardGateway

    gateway_register(GIFT_CARD, GiftCardGateway)


def refund_methods_register() -> None:
    from payments.gateways.store_credit import STORE_CREDIT
    from payments.models import Payment
    from payments.services.refund_methods import (
        refund_handed_over,
        refund_method_register,
        store_credit_refund,
    )

    refund_method_register(Payment.Method.CASH, refund_handed_over)
    refund_method_register(Payment.Method.CARD_TERMINAL, refund_handed_over)
    refund_method_register(STORE_CREDIT, store_credit_refund, gateway=STORE_CREDIT)
    # Points (issue 14): only points the order redeemed go back (payments.gateways.points).
    from payments.gateways.points import POINTS, points_refund

    refund_method_register(POINTS, points_refund, gateway=POINTS)
    # Gift cards (issue 14): back to the cards that paid the order, never a new card.
    from payments.gateways.gift_card import GIFT_CARD
    from payments.services.gift_cards import gift_card_refund_to_order_cards

    refund_method_register(GIFT_CARD, gift_card_refund_to_order_cards, gateway=GIFT_CARD)


def payment_methods_register() -> None:
    from orders.payment_methods import payment_in_flight_register, payment_method_register
    from payments.selectors import order_payment_in_flight
    from payments.services.cash import (
        payment_card_terminal_handoff,
        payment_cash_handoff,
        payment_split_handoff,
    )
    from payments.services.links import payment_link_handoff

    # Cash at the till: checkout hands the order over to payment_take_cash with the
    # cash received (orders.payment_methods; "pay in store" stays for paying later).
    payment_method_register(
        "cash", _("Cash"), payment_cash_handoff, channel_kinds={"store"}, in_person=True
    )
    # The card terminal at the till: the terminal approved the charge before the sale is
    # checked out, so the goods leave like a cash sale's; the till records the approval
    # right after the checkout commits (a payment is recorded outside any transaction).
    payment_method_register(
        "card_terminal",
        _("Card on the terminal"),
        payment_card_terminal_handoff,
        channel_kinds={"store"},
        in_person=True,
    )
    # Payment link by SMS: checkout holds the stock and the order waits for the
    # customer to pay on their phone (payments.services.links).
    # A split tender at the till (gift card, points, store credit, then cash or the
    # terminal): every tender is checked before the checkout and taken right after it.
    payment_method_register(
        "split",
        _("Split tender at the till"),
        payment_split_handoff,
        channel_kinds={"store"},
        in_person=True,
    )
    payment_method_register(
        "payment_link", _("Payment link by SMS"), payment_link_handoff, self_service=False
    )
    # An unpaid order is not cancelled while its payment is under way.
    payment_in_flight_register(order_payment_in_flight)
