"""Hypothesis stateful test of loyalty's ledgers: random sequences of earn, redeem
(sometimes more than held), return (a pro rata take-back), refund (points given back),
cancel, adjust, expire (time moved forward) on points; add/spend on store credit; issue,
redeem (sometimes more than left), refund to card, adjust, block and expire on gift
cards.

Invariants after every step, for every ledger: the balance is the sum of its rows and
matches a model kept here, it is never negative, and replaying any key already used
writes nothing.

Each ledger is a rule set (a ``RuleBasedStateMachine`` mixin with its own rules, model,
``<ledger>_check()`` and replays); ``LoyaltyLedgers`` combines them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from customers.models import Customer
from loyalty.exceptions import (
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardRefundExceedsRedeemed,
    PointsInsufficient,
    StoreCreditInsufficient,
)
from loyalty.models import GiftCard, GiftCardEntry, PointsEntry, PointsProgramme, StoreCreditEntry
from loyalty.services.gift_cards import (
    gift_card_active_set,
    gift_card_adjust,
    gift_card_balance,
    gift_card_issue,
    gift_card_redeem,
    gift_card_refund,
    gift_cards_expire,
)
from loyalty.services.points import (
    points_adjust,
    points_balance,
    points_earn,
    points_expire,
    points_redeem,
    points_reverse,
)
from loyalty.services.store_credit import store_credit_add, store_credit_balance, store_credit_spend

D = Decimal
CENTS = st.integers(min_value=1, max_value=10_000).map(lambda c: Decimal(c) / 100)
REFERENCES = st.sampled_from(["UC1", "UC2", "UC3"])


class LedgerBase(RuleBasedStateMachine):
    """What every rule set shares: one fresh customer per run (so runs never see each
    other's rows) and the replays of the movements written so far."""

    programme: PointsProgramme  # set by the test

    def __init__(self) -> None:
        super().__init__()
        # Each run in a savepoint rolled back at its end: a failing run (and Hypothesis
        # shrinking it) never leaves a broken transaction or rows to the next.
        self.savepoint = transaction.savepoint_create()
        self.customer = Customer.objects.create(first_name="Stateful", email="s@example.com")
        self.replays: list[tuple[type, Callable[[], object]]] = []
        self.serial = 0

    def key(self, what: str) -> str:
        self.serial += 1
        return f"sm:{self.customer.pk}:{what}:{self.serial}"

    def written(self, model: type, call: Callable[[], object]) -> object:
        """Run a movement; keep it to replay if it wrote a row."""
        result = call()
        if result is not None:
            self.replays.append((model, call))
        return result

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)
        transaction.set_rollback(False)

    @precondition(lambda self: self.replays)
    @rule(data=st.data())
    def replay(self, data) -> None:
        model, call = data.draw(st.sampled_from(self.replays))
        count = model.objects.filter(customer=self.customer).count()
        call()
        assert model.objects.filter(customer=self.customer).count() == count


class PointsRules(LedgerBase):
    """Points: the model is the balance and, per order, what it earned and had taken
    back, and what it redeemed and had given back."""

    def __init__(self) -> None:
        super().__init__()
        self.points = 0
        self.expired = 0
        self.earned: dict[str, list[int]] = {}  # order → [earned, taken back]
        self.redeemed: dict[str, list[int]] = {}  # order → [redeemed, given back]
        self.days = 0  # how far the clock has moved for expiry

    @rule(amount=st.integers(min_value=0, max_value=20000))
    def earn(self, amount: int) -> None:
        reference = f"O{len(self.earned) + 1}"
        entry = self.written(
            PointsEntry,
            partial(
                points_earn,
                customer=self.customer,
                amount=D(amount) / 100,
                currency="EUR",
                reference=reference,
                idempotency_key=self.key("earn"),
            ),
        )
        expected = amount * 3 // 200  # 1.5 points per euro, rounded down
        assert (entry.points if entry else 0) == expected
        if entry is not None:
            self.points += expected
            self.earned[reference] = [expected, 0]

    @rule(points=st.integers(min_value=1, max_value=400))
    def redeem(self, points: int) -> None:
        reference = f"R{len(self.redeemed) + 1}"
        call = partial(
            points_redeem,
            customer=self.customer,
            points=points,
            programme=self.programme,
            reference=reference,
            idempotency_key=self.key("redeem"),
        )
        if points > self.points:
            with pytest.raises(PointsInsufficient):
                call()
            return
        self.written(PointsEntry, call)
        self.points -= points
        self.redeemed[reference] = [points, 0]

    def _take_back(self, reference: str, asked: int, what: str) -> None:
        earned, taken = self.earned[reference]
        expected = min(asked, earned - taken, self.points)
        entry = self.written(
            PointsEntry,
            partial(
                points_reverse,
                customer=self.customer,
                points=-asked,
                reference=reference,
                idempotency_key=self.key(what),
            ),
        )
        assert (-entry.points if entry else 0) == expected
        self.points -= expected
        self.earned[reference][1] += expected

    @precondition(lambda self: self.earned)
    @rule(data=st.data(), share=st.integers(min_value=1, max_value=100))
    def return_goods(self, data, share: int) -> None:
        reference = data.draw(st.sampled_from(sorted(self.earned)))
        asked = max(1, self.earned[reference][0] * share // 100)
        self._take_back(reference, asked, "return")

    @precondition(lambda self: self.earned)
    @rule(data=st.data())
    def cancel(self, data) -> None:
        reference = data.draw(st.sampled_from(sorted(self.earned)))
        self._take_back(reference, max(1, self.earned[reference][0]), "cancel")

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data(), points=st.integers(min_value=1, max_value=400))
    def refund(self, data, points: int) -> None:
        reference = data.draw(st.sampled_from(sorted(self.redeemed)))
        redeemed, given = self.redeemed[reference]
        expected = min(points, redeemed - given)
        entry = self.written(
            PointsEntry,
            partial(
                points_reverse,
                customer=self.customer,
                points=points,
                reference=reference,
                idempotency_key=self.key("refund"),
            ),
        )
        assert (entry.points if entry else 0) == expected
        self.points += expected
        self.redeemed[reference][1] += expected

    @rule(points=st.integers(min_value=-300, max_value=300).filter(bool))
    def adjust(self, points: int) -> None:
        call = partial(
            points_adjust,
            customer=self.customer,
            points=points,
            reason="stateful",
            user=None,
            programme=self.programme,
            idempotency_key=self.key("adjust"),
        )
        if -points > self.points:
            with pytest.raises(PointsInsufficient):
                call()
            return
        self.written(PointsEntry, call)
        self.points += points

    @rule(days=st.integers(min_value=0, max_value=400))
    def expire(self, days: int) -> None:
        self.days += days  # time only moves forward
        before = self.points
        points_expire(timezone.now() + timedelta(days=self.days))
        expired = -sum(
            PointsEntry.objects.filter(customer=self.customer, kind="expire").values_list(
                "points", flat=True
            )
        )
        self.points = before - (expired - self.expired)
        self.expired = expired
        assert 0 <= self.points <= before

    def points_check(self) -> None:
        rows = PointsEntry.objects.filter(customer=self.customer)
        total = sum(rows.values_list("points", flat=True))
        assert points_balance(customer=self.customer, programme=self.programme) == total
        assert total == self.points
        assert total >= 0


class StoreCreditRules(LedgerBase):
    """Store credit: the model is the balance."""

    def __init__(self) -> None:
        super().__init__()
        self.credit = D("0.00")

    @rule(cents=st.integers(min_value=1, max_value=10000))
    def credit_add(self, cents: int) -> None:
        amount = D(cents) / 100
        self.written(
            StoreCreditEntry,
            partial(
                store_credit_add,
                customer=self.customer,
                amount=amount,
                currency="EUR",
                reason="refund",
                idempotency_key=self.key("credit"),
            ),
        )
        self.credit += amount

    @rule(cents=st.integers(min_value=1, max_value=10000))
    def credit_spend(self, cents: int) -> None:
        amount = D(cents) / 100
        call = partial(
            store_credit_spend,
            customer=self.customer,
            amount=amount,
            currency="EUR",
            idempotency_key=self.key("spend"),
        )
        if amount > self.credit:
            with pytest.raises(StoreCreditInsufficient):
                call()
            return
        self.written(StoreCreditEntry, call)
        self.credit -= amount

    def store_credit_check(self) -> None:
        rows = StoreCreditEntry.objects.filter(customer=self.customer)
        total = sum(rows.values_list("amount", flat=True), D("0.00"))
        assert store_credit_balance(customer=self.customer, currency="EUR") == total
        assert total == self.credit
        assert total >= 0


class GiftCardRules(LedgerBase):
    """Gift cards: the model is each card's balance, what each reference redeemed from it,
    and whether it can be used; every refusal leaves the ledger as it was."""

    cards = Bundle("cards")

    def __init__(self) -> None:
        super().__init__()
        self.card_balance: dict[int, Decimal] = {}
        self.card_redeemed: dict[tuple[int, str], Decimal] = {}
        self.card_usable: dict[int, bool] = {}
        self.card_expired: set[int] = set()
        self.card_rows = 0

    def _key(self) -> str:
        return self.key("gift")

    def _unchanged(self) -> None:
        assert (
            GiftCardEntry.objects.filter(card_id__in=list(self.card_balance)).count()
            == self.card_rows
        )

    @rule(target=cards, amount=CENTS)
    def card_issue(self, amount):
        card = gift_card_issue(amount=amount, currency="EUR", purpose="multi").card
        self.card_balance[card.pk] = amount
        self.card_usable[card.pk] = True
        self.card_rows += 1
        return card

    @rule(card=cards, amount=CENTS, reference=REFERENCES, replay=st.booleans())
    def card_redeem(self, card, amount, reference, replay):
        key = self._key()
        try:
            gift_card_redeem(card=card, amount=amount, reference=reference, idempotency_key=key)
        except GiftCardInsufficient:
            assert amount > self.card_balance[card.pk]
            assert self.card_usable[card.pk]
            return self._unchanged()
        except GiftCardInvalid:
            assert not self.card_usable[card.pk]
            return self._unchanged()
        assert amount <= self.card_balance[card.pk]
        self.card_balance[card.pk] -= amount
        self.card_redeemed[card.pk, reference] = (
            self.card_redeemed.get((card.pk, reference), 0) + amount
        )
        self.card_rows += 1
        if replay:  # the same call again: nothing more
            gift_card_redeem(card=card, amount=amount, reference=reference, idempotency_key=key)

    @rule(card=cards, amount=CENTS, reference=REFERENCES)
    def card_refund(self, card, amount, reference):
        try:
            gift_card_refund(
                card=card, amount=amount, reference=reference, idempotency_key=self._key()
            )
        except GiftCardRefundExceedsRedeemed:
            assert amount > self.card_redeemed.get((card.pk, reference), 0)
            return self._unchanged()
        except GiftCardInvalid:
            assert not self.card_usable[card.pk]
            return self._unchanged()
        self.card_redeemed[card.pk, reference] -= amount
        self.card_balance[card.pk] += amount
        self.card_rows += 1

    @rule(card=cards, amount=CENTS, negative=st.booleans())
    def card_adjust(self, card, amount, negative):
        amount = -amount if negative else amount
        try:
            gift_card_adjust(card=card, amount=amount, reason="stateful test")
        except GiftCardInsufficient:
            assert self.card_balance[card.pk] + amount < 0
            return self._unchanged()
        self.card_balance[card.pk] += amount
        self.card_rows += 1

    @rule(card=cards, active=st.booleans())
    def card_block(self, card, active):
        gift_card_active_set(card=card, active=active)
        self.card_usable[card.pk] = active and (
            card.expires_at is None or card.expires_at > timezone.now()
        )

    @rule(card=cards)
    def card_expire(self, card):
        now = timezone.now()
        GiftCard.objects.filter(pk=card.pk).update(expires_at=now - timedelta(seconds=1))
        card.refresh_from_db()
        self.card_expired.add(card.pk)
        gift_cards_expire(now)
        for pk in self.card_expired:  # every expired card with something left loses it
            if self.card_balance[pk] > 0:
                self.card_rows += 1
            self.card_balance[pk] = Decimal("0.00")
            self.card_usable[pk] = False

    def gift_cards_check(self) -> None:
        for card in GiftCard.objects.filter(pk__in=list(self.card_balance)):
            rows = GiftCardEntry.objects.filter(card=card).values_list("amount", flat=True)
            assert gift_card_balance(card) == sum(rows, D("0.00")) == self.card_balance[card.pk]
            assert self.card_balance[card.pk] >= 0


class LoyaltyLedgers(PointsRules, StoreCreditRules, GiftCardRules):
    """Every ledger's rules, interleaved; every ledger's checks after each step. (Rule
    and attribute names differ between rule sets: a name defined twice would silently
    keep one.)"""

    CHECKS = ("points_check", "store_credit_check", "gift_cards_check")

    @invariant()
    def ledgers_hold(self) -> None:
        for check in self.CHECKS:
            getattr(self, check)()


@pytest.mark.django_db
def test_loyalty_ledgers_hold_under_random_sequences():
    LoyaltyLedgers.programme = PointsProgramme.objects.create(
        name="Stateful",
        currency="EUR",
        points_per_unit=D("1.5"),
        point_value=D("0.05"),
        expiry_days=200,
    )
    run_state_machine_as_test(
        LoyaltyLedgers,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
