"""Gift cards (loyalty.services.gift_cards): codes from an unambiguous alphabet kept only
as a hash, one uniform answer for every failed lookup under a rate limit, and a ledger
whose sum is the balance and never goes below zero."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.exceptions import (
    GiftCardAmountInvalid,
    GiftCardCodeInvalid,
    GiftCardCurrencyMismatch,
    GiftCardInsufficient,
    GiftCardInvalid,
    GiftCardKeyReused,
    GiftCardReasonRequired,
    GiftCardRefundExceedsRedeemed,
)
from loyalty.models import GiftCard, GiftCardEntry
from loyalty.services.gift_cards import (
    ALPHABET,
    gift_card_active_set,
    gift_card_adjust,
    gift_card_balance,
    gift_card_code_display,
    gift_card_code_new,
    gift_card_code_normalise,
    gift_card_find,
    gift_card_issue,
    gift_card_redeem,
    gift_card_refund,
    gift_cards_customer_erase,
    gift_cards_customer_reassign,
    gift_cards_expire,
    gift_cards_issue_batch,
)
from tests.factories import CustomerFactory, UserFactory
from unicommerce.ratelimit import RateLimited

D = Decimal
pytestmark = pytest.mark.django_db


def issue(amount: str = "50.00", **fields):
    fields.setdefault("currency", "EUR")
    fields.setdefault("purpose", "multi")
    return gift_card_issue(amount=D(amount), **fields)


def ledger(card) -> list[tuple[str, Decimal]]:
    return list(card.entries.order_by("id").values_list("kind", "amount"))


# --- codes


def test_a_new_code_is_16_characters_of_crockfords_alphabet_and_codes_differ():
    codes = {gift_card_code_new() for _ in range(500)}

    assert len(codes) == 500
    assert all(len(code) == 16 for code in codes)
    assert set("".join(codes)) <= set(ALPHABET)
    assert not set("ILOU") & set(ALPHABET)
    assert len(ALPHABET) == 32


def test_normalising_removes_spaces_and_dashes_and_reads_o_as_0_and_i_l_as_1():
    assert gift_card_code_normalise(" abcd-efgh ijkl-mnop ") == "ABCDEFGH1JK1MN0P"
    assert gift_card_code_normalise("o0Oi1IlL") == "00011111"
    assert gift_card_code_display("abcdefghjkmnpqrs") == "ABCD-EFGH-JKMN-PQRS"


def test_only_the_hash_and_last_four_are_kept_and_the_clear_code_is_returned_once():
    issued = issue("25.00", idempotency_key="k1")

    card = GiftCard.objects.get()
    assert len(issued.code) == 16
    assert card.code_hash == hashlib.sha256(issued.code.encode()).hexdigest()
    assert card.last4 == issued.code[-4:]
    assert issued.display == gift_card_code_display(issued.code)
    assert issued.code not in str(GiftCard.objects.values().get())
    assert ledger(card) == [("issue", D("25.00"))]
    again = issue("25.00", idempotency_key="k1")
    assert (again.card.pk, again.code) == (card.pk, "")
    assert GiftCard.objects.count() == 1
    with pytest.raises(GiftCardKeyReused):
        issue("30.00", idempotency_key="k1")


def test_the_default_validity_comes_from_the_setting(settings):
    settings.GIFT_CARD_VALIDITY_DAYS = 400
    before = timezone.now()

    card = issue().card

    assert before + timedelta(days=400) <= card.expires_at <= timezone.now() + timedelta(days=400)
    settings.GIFT_CARD_VALIDITY_DAYS = 0
    assert issue().card.expires_at is None


def test_a_physical_cards_own_code_is_checked_and_an_existing_code_is_refused():
    card = issue(code="abcd efgh jkmn pqr0").card
    assert card.code_hash == hashlib.sha256(b"ABCDEFGHJKMNPQR0").hexdigest()

    for bad in ("ABCDEFGHJKMNPQR", "ABCDEFGHJKMNPQR!", "ABCDEFGHJKMNPQRU"):
        with pytest.raises(GiftCardCodeInvalid) as refused:
            issue(code=bad)
        assert refused.value.details["reason"] == "format"
    with pytest.raises(GiftCardCodeInvalid) as taken:
        issue(code="ABCD-EFGH-JKMN-PQRO")  # O reads as 0: the same code
    assert taken.value.details["reason"] == "taken"
    assert GiftCard.objects.count() == 1


def test_an_amount_of_zero_or_less_and_an_e_card_without_recipient_are_refused():
    for amount in ("0", "-5", "0.001"):
        with pytest.raises(GiftCardAmountInvalid):
            issue(amount)
    with pytest.raises(Exception, match="recipient"):
        issue(delivery="email")
    assert GiftCard.objects.count() == 0


# --- lookups


def test_every_failed_lookup_gives_the_same_error():
    good = issue().code
    blocked = issue()
    gift_card_active_set(card=blocked.card, active=False)
    expired = issue(expires_at=timezone.now() - timedelta(seconds=1))
    unknown = gift_card_code_new()

    answers = []
    for code in (unknown, blocked.code, expired.code, "short", "", "ABCDEFGHJKMNPQR!", "é" * 16):
        with pytest.raises(GiftCardInvalid) as refused:
            gift_card_find(code=code, caller="till-1")
        answers.append(refused.value.as_dict())

    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["code"] == "gift_card_invalid"
    assert answers[0]["details"] is None
    assert gift_card_find(code=gift_card_code_display(good).lower(), caller="till-1").initial_amount


def test_failed_lookups_are_rate_limited_per_caller_and_then_even_a_good_code_waits(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "gift_card_lookup_failed_per_caller": "3/hour",
        "gift_card_lookup_per_caller": "100/hour",
    }
    good = issue().code
    for _ in range(3):
        with pytest.raises(GiftCardInvalid):
            gift_card_find(code=gift_card_code_new(), caller="1.2.3.4")

    with pytest.raises(RateLimited) as limited:
        gift_card_find(code=good, caller="1.2.3.4")

    assert limited.value.details["limit"] == "gift_card_lookup_failed_per_caller"
    assert gift_card_find(code=good, caller="5.6.7.8").pk  # another caller is not held


def test_every_lookup_counts_against_the_callers_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "gift_card_lookup_per_caller": "2/hour"}
    good = issue().code
    gift_card_find(code=good, caller="key:7")
    gift_card_find(code=good, caller="key:7")

    with pytest.raises(RateLimited):
        gift_card_find(code=good, caller="key:7")


# --- movements


def test_redeem_refund_adjust_and_the_balance_is_the_sum_of_the_ledger():
    clerk = UserFactory()
    card = issue("50.00").card
    gift_card_redeem(card=card, amount=D("20"), reference="UC1", idempotency_key="a", user=clerk)
    gift_card_redeem(card=card, amount=D("5.5"), reference="UC2", idempotency_key="b")
    gift_card_refund(card=card, amount=D("7"), reference="UC1", idempotency_key="c")
    gift_card_adjust(card=card, amount=D("-2.50"), reason="scratched", user=clerk)

    assert ledger(card) == [
        ("issue", D("50.00")),
        ("redeem", D("-20.00")),
        ("redeem", D("-5.50")),
        ("refund", D("7.00")),
        ("adjust", D("-2.50")),
    ]
    assert gift_card_balance(card) == D("29.00")
    assert card.entries.get(idempotency_key="a").created_by == clerk


def test_redeeming_more_than_the_balance_names_it_and_writes_nothing():
    card = issue("30.00").card
    gift_card_redeem(card=card, amount=D("25"), reference="UC1", idempotency_key="a")

    with pytest.raises(GiftCardInsufficient) as refused:
        gift_card_redeem(card=card, amount=D("5.01"), reference="UC2", idempotency_key="b")

    assert refused.value.details["balance"] == "5.00"
    assert "5.00" in refused.value.message
    assert gift_card_balance(card) == D("5.00")
    assert not GiftCardEntry.objects.filter(idempotency_key="b").exists()


def test_a_redemption_is_idempotent_by_key_and_a_key_reused_differently_is_refused():
    card = issue("30.00").card
    first = gift_card_redeem(card=card, amount=D("10"), reference="UC1", idempotency_key="k")

    again = gift_card_redeem(card=card, amount=D("10"), reference="UC1", idempotency_key="k")

    assert again.pk == first.pk
    assert gift_card_balance(card) == D("20.00")
    with pytest.raises(GiftCardKeyReused):
        gift_card_redeem(card=card, amount=D("11"), reference="UC1", idempotency_key="k")


def test_a_blocked_or_expired_card_or_another_currency_cannot_be_spent():
    blocked = issue().card
    gift_card_active_set(card=blocked, active=False)
    expired = issue(expires_at=timezone.now() - timedelta(days=1)).card
    euros = issue().card

    for card in (blocked, expired):
        with pytest.raises(GiftCardInvalid):
            gift_card_redeem(card=card, amount=D("1"), reference="UC1", idempotency_key=None)
    with pytest.raises(GiftCardCurrencyMismatch):
        gift_card_redeem(
            card=euros, amount=D("1"), reference="UC1", idempotency_key=None, currency="USD"
        )
    assert GiftCardEntry.objects.exclude(kind="issue").count() == 0
    gift_card_active_set(card=blocked, active=True)
    assert gift_card_redeem(card=blocked, amount=D("1"), reference="UC1", idempotency_key=None)


def test_a_refund_never_gives_back_more_than_was_redeemed_for_that_reference():
    card = issue("50.00").card
    gift_card_redeem(card=card, amount=D("20"), reference="UC1", idempotency_key="r1")
    gift_card_redeem(card=card, amount=D("10"), reference="UC2", idempotency_key="r2")
    gift_card_refund(card=card, amount=D("15"), reference="UC1", idempotency_key="f1")

    with pytest.raises(GiftCardRefundExceedsRedeemed) as refused:
        gift_card_refund(card=card, amount=D("5.01"), reference="UC1", idempotency_key="f2")

    assert refused.value.details["refundable"] == "5.00"
    with pytest.raises(GiftCardRefundExceedsRedeemed):
        gift_card_refund(card=card, amount=D("1"), reference="UC3", idempotency_key="f3")
    gift_card_refund(card=card, amount=D("5"), reference="UC1", idempotency_key="f4")
    assert gift_card_balance(card) == D("40.00")


def test_an_adjustment_needs_a_reason_and_never_takes_the_balance_below_zero():
    card = issue("10.00").card
    with pytest.raises(GiftCardReasonRequired):
        gift_card_adjust(card=card, amount=D("5"), reason="  ")
    with pytest.raises(GiftCardInsufficient):
        gift_card_adjust(card=card, amount=D("-10.01"), reason="typo")
    with pytest.raises(GiftCardAmountInvalid):
        gift_card_adjust(card=card, amount=D("0"), reason="nothing")

    gift_card_adjust(card=card, amount=D("-10"), reason="goodwill back")

    assert gift_card_balance(card) == D("0.00")


def test_expiry_writes_off_what_is_left_once_and_skips_empty_and_valid_cards():
    soon = timezone.now() + timedelta(days=1)
    left = issue("40.00", expires_at=soon).card
    gift_card_redeem(card=left, amount=D("15"), reference="UC1", idempotency_key=None)
    empty = issue("10.00", expires_at=soon).card
    gift_card_adjust(card=empty, amount=D("-10"), reason="spent on paper")
    valid = issue("20.00", expires_at=soon + timedelta(days=2)).card
    now = soon + timedelta(seconds=1)

    assert gift_cards_expire(now) == 1
    assert gift_cards_expire(now) == 0

    assert ledger(left)[-1] == ("expire", D("-25.00"))
    assert gift_card_balance(left) == D("0.00")
    assert [k for k, _ in ledger(empty)] == ["issue", "adjust"]
    assert ledger(valid) == [("issue", D("20.00"))]


def test_a_batch_of_physical_cards_gives_each_clear_code_once():
    issued = gift_cards_issue_batch(count=5, amount=D("20"), currency="EUR")

    assert len({card.code for card in issued}) == 5
    assert GiftCard.objects.filter(delivery="physical", source__startswith="batch ").count() == 5
    assert all(gift_card_balance(card.card) == D("20.00") for card in issued)


def test_the_database_refuses_to_edit_or_delete_a_gift_card_entry():
    entry = issue().card.entries.get()

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE loyalty_giftcardentry SET amount = 1 WHERE id = %s", [entry.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        GiftCardEntry.objects.filter(pk=entry.pk).delete()


# --- customers merged or erased


def test_a_merge_moves_the_cards_bought_and_an_erasure_blanks_recipients():
    from customers.services.gdpr import ErasedIdentity

    buyer, survivor, friend = CustomerFactory(), CustomerFactory(), CustomerFactory()
    bought = issue(customer=buyer, delivery="email", recipient="friend@example.com").card
    received = issue(delivery="sms", recipient="+33612345678").card
    other = issue(delivery="email", recipient="someone@example.com").card

    assert gift_cards_customer_reassign(survivor=survivor, duplicate=buyer) == 1
    bought.refresh_from_db()
    assert bought.customer == survivor

    identity = ErasedIdentity(
        emails=("nobody@example.com",), phones=("+33612345678",), full_names=(), name_parts=()
    )
    gift_cards_customer_erase(customer_ids=[survivor.pk, friend.pk], identity=identity)

    assert list(
        GiftCard.objects.filter(pk__in=[bought.pk, received.pk, other.pk])
        .order_by("pk")
        .values_list("recipient", flat=True)
    ) == ["", "", "someone@example.com"]
    assert gift_card_balance(received) == D("50.00")
