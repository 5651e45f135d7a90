"""A Hypothesis state machine over gift cards: random issues, redemptions, refunds,
adjustments, blocks and expiries. After every step each card's balance equals the sum
of its ledger and a model kept beside it, and is never below zero; every refusal left
the ledger as it was."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from loyalty.exceptions import (
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardRefundExceedsRedeemed,
)
from loyalty.models import GiftCard, GiftCardEntry
from loyalty.services.gift_cards import (
    gift_card_active_set,
    gift_card_adjust,
    gift_card_balance,
    gift_card_issue,
    gift_card_redeem,
    gift_card_refund,
    gift_cards_expire,
)

CENTS = st.integers(min_value=1, max_value=10_000).map(lambda c: Decimal(c) / 100)
REFERENCES = st.sampled_from(["UC1", "UC2", "UC3"])


class GiftCardLedger(RuleBasedStateMachine):
    cards = Bundle("cards")

    def __init__(self) -> None:
        super().__init__()
        self.balance: dict[int, Decimal] = {}
        self.redeemed: dict[tuple[int, str], Decimal] = {}
        self.usable: dict[int, bool] = {}
        self.expired: set[int] = set()
        self.rows = 0
        self.step = 0

    def _key(self) -> str:
        self.step += 1
        return f"step-{id(self)}-{self.step}"

    def _unchanged(self) -> None:
        assert GiftCardEntry.objects.filter(card_id__in=list(self.balance)).count() == self.rows

    @rule(target=cards, amount=CENTS)
    def issue(self, amount):
        card = gift_card_issue(amount=amount, currency="EUR", purpose="multi").card
        self.balance[card.pk] = amount
        self.usable[card.pk] = True
        self.rows += 1
        return card

    @rule(card=cards, amount=CENTS, reference=REFERENCES, replay=st.booleans())
    def redeem(self, card, amount, reference, replay):
        key = self._key()
        try:
            gift_card_redeem(card=card, amount=amount, reference=reference, idempotency_key=key)
        except GiftCardInsufficient:
            assert amount > self.balance[card.pk]
            assert self.usable[card.pk]
            return self._unchanged()
        except GiftCardInvalid:
            assert not self.usable[card.pk]
            return self._unchanged()
        assert amount <= self.balance[card.pk]
        self.balance[card.pk] -= amount
        self.redeemed[card.pk, reference] = self.redeemed.get((card.pk, reference), 0) + amount
        self.rows += 1
        if replay:  # the same call again: nothing more
            gift_card_redeem(card=card, amount=amount, reference=reference, idempotency_key=key)

    @rule(card=cards, amount=CENTS, reference=REFERENCES)
    def refund(self, card, amount, reference):
        try:
            gift_card_refund(
                card=card, amount=amount, reference=reference, idempotency_key=self._key()
            )
        except GiftCardRefundExceedsRedeemed:
            assert amount > self.redeemed.get((card.pk, reference), 0)
            return self._unchanged()
        except GiftCardInvalid:
            assert not self.usable[card.pk]
            return self._unchanged()
        self.redeemed[card.pk, reference] -= amount
        self.balance[card.pk] += amount
        self.rows += 1

    @rule(card=cards, amount=CENTS, negative=st.booleans())
    def adjust(self, card, amount, negative):
        amount = -amount if negative else amount
        try:
            gift_card_adjust(card=card, amount=amount, reason="stateful test")
        except GiftCardInsufficient:
            assert self.balance[card.pk] + amount < 0
            return self._unchanged()
        self.balance[card.pk] += amount
        self.rows += 1

    @rule(card=cards, active=st.booleans())
    def block(self, card, active):
        gift_card_active_set(card=card, active=active)
        self.usable[card.pk] = active and (
            card.expires_at is None or card.expires_at > timezone.now()
        )

    @rule(card=cards)
    def expire(self, card):
        now = timezone.now()
        GiftCard.objects.filter(pk=card.pk).update(expires_at=now - timedelta(seconds=1))
        card.refresh_from_db()
        self.expired.add(card.pk)
        gift_cards_expire(now)
        for pk in self.expired:  # every expired card with something left loses it
            if self.balance[pk] > 0:
                self.rows += 1
            self.balance[pk] = Decimal("0.00")
            self.usable[pk] = False

    @invariant()
    def balances_are_the_ledger_and_never_negative(self):
        for card in GiftCard.objects.filter(pk__in=list(self.balance)):
            assert gift_card_balance(card) == self.balance[card.pk] >= 0


@pytest.mark.django_db
def test_gift_card_ledger_state_machine():
    GiftCardLedger.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    GiftCardLedger.TestCase().runTest()
