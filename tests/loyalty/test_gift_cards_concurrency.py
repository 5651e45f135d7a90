"""Two tills spend the last of one gift card at the same moment, each on its own real
PostgreSQL connection: exactly one succeeds, the other is told the balance, and the
ledger never goes below zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.exceptions import GiftCardInsufficient
from loyalty.models import GiftCardEntry
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue, gift_card_redeem
from tests.orders.test_checkout_concurrency import run_concurrently

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def test_two_tills_redeeming_the_last_50_of_a_card_exactly_one_succeeds():
    card = gift_card_issue(amount=D("80.00"), currency="EUR", purpose="multi").card
    gift_card_redeem(card=card, amount=D("30"), reference="UC1", idempotency_key="first")

    outcomes = run_concurrently(
        2,
        lambda i: gift_card_redeem(
            card=card, amount=D("50.00"), reference=f"UC{i + 2}", idempotency_key=f"till-{i}"
        ),
    )

    won = [o for o in outcomes if isinstance(o, GiftCardEntry)]
    lost = [o for o in outcomes if isinstance(o, GiftCardInsufficient)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    assert lost[0].details["balance"] == "0.00"
    assert gift_card_balance(card) == D("0.00")
    assert card.entries.filter(kind="redeem").count() == 2


def test_eight_tills_taking_ten_each_from_a_card_of_45_get_four_through():
    card = gift_card_issue(amount=D("45.00"), currency="EUR", purpose="multi").card

    outcomes = run_concurrently(
        8,
        lambda i: gift_card_redeem(
            card=card, amount=D("10"), reference=f"UC{i}", idempotency_key=f"till-{i}"
        ),
    )

    assert sum(isinstance(o, GiftCardEntry) for o in outcomes) == 4, outcomes
    assert sum(isinstance(o, GiftCardInsufficient) for o in outcomes) == 4
    assert gift_card_balance(card) == D("5.00")
