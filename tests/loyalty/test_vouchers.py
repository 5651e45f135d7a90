"""Voucher codes: generation, lookup, every reason a code is refused, use at order
placement and release on cancellation (loyalty.services.vouchers)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.services.merging import customer_merge
from loyalty import exceptions as errors
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.services import vouchers as service
from loyalty.services.vouchers import (
    ALPHABET,
    voucher_check,
    voucher_code_normalise,
    voucher_codes_generate,
    voucher_find,
    vouchers_release,
    vouchers_use,
)
from tests.factories import CustomerFactory, LocationFactory, SalesChannelFactory
from tests.loyalty.voucher_data import campaign, code
from unicommerce.ratelimit import RateLimited

pytestmark = pytest.mark.django_db

TEN = Decimal("10.00")


def counters(voucher: VoucherCode) -> tuple[int, int]:
    voucher.refresh_from_db()
    voucher.promotion.refresh_from_db()
    return voucher.promotion.used_count, voucher.used_count


# --- codes -------------------------------------------------------------------------------


def test_a_code_is_normalised_to_upper_case_letters_and_digits():
    assert voucher_code_normalise(" noel-2345 abcd\n") == "NOEL2345ABCD"
    assert voucher_code_normalise("Été_25") == "T25"
    assert voucher_code_normalise("") == ""


def test_generated_codes_are_unique_unambiguous_and_carry_the_prefix():
    promotion = campaign()

    created = voucher_codes_generate(
        promotion=promotion, count=200, prefix="noel-", length=8, max_uses=2
    )

    texts = [row.code for row in created]
    assert len(texts) == len(set(texts)) == 200
    assert VoucherCode.objects.filter(promotion=promotion).count() == 200
    assert all(text.startswith("NOEL") and len(text) == 12 for text in texts)
    assert set("".join(text[4:] for text in texts)) <= set(ALPHABET)
    assert not set("0O1IL") & set(ALPHABET)
    assert {row.max_uses for row in created} == {2}
    assert all(row.pk for row in created)


def test_a_drawn_code_already_taken_is_drawn_again(monkeypatch):
    code(campaign(name="Older"), "AAAAAA")
    draws = iter("AAAAAA" + "BBBBBB")
    monkeypatch.setattr(service.secrets, "choice", lambda alphabet: next(draws))

    created = voucher_codes_generate(promotion=campaign(), count=1, length=6)

    assert [row.code for row in created] == ["BBBBBB"]


def test_a_batch_meeting_a_code_inserted_meanwhile_is_drawn_again_whole(monkeypatch):
    code(campaign(name="Other"), "RACE22")
    batches = iter([{"RACE22", "FREE33"}, {"FREE44", "FREE55"}])
    monkeypatch.setattr(service, "_candidates", lambda count, prefix, length: next(batches))
    promotion = campaign()

    created = voucher_codes_generate(promotion=promotion, count=2, length=6)

    assert sorted(row.code for row in created) == ["FREE44", "FREE55"]
    assert VoucherCode.objects.filter(promotion=promotion).count() == 2


@pytest.mark.parametrize(
    ("fields", "arguments"),
    [
        ({"requires_code": False}, {"count": 5}),
        ({}, {"count": 0}),
        ({}, {"count": 10_001}),
        ({}, {"count": 5, "length": 5}),
        ({}, {"count": 5, "prefix": "X" * 25, "length": 8}),
        ({}, {"count": 5, "max_uses": 0}),
    ],
)
def test_codes_asked_for_wrongly_are_refused_and_none_is_made(fields, arguments):
    promotion = campaign(**fields)

    with pytest.raises(errors.VoucherCodesInvalid) as refused:
        voucher_codes_generate(promotion=promotion, **arguments)

    assert refused.value.code == "voucher_codes_invalid"
    assert refused.value.http_status == 400
    assert VoucherCode.objects.count() == 0


# --- lookup --------------------------------------------------------------------------------


def test_a_code_is_found_however_it_is_typed():
    voucher = code(campaign(), "NOEL2345")

    assert voucher_find(code=" noel-2345 ", caller="user:1") == voucher


@pytest.mark.parametrize("what", ["unknown", "code_off", "campaign_off", "not_a_campaign", ""])
def test_every_code_that_cannot_be_used_gets_the_same_answer(what):
    promotion = campaign(is_active=what != "campaign_off", requires_code=what != "not_a_campaign")
    code(promotion, "NOEL2345", is_active=what != "code_off")
    typed = {"unknown": "NOEL2346", "": "  "}.get(what, "NOEL2345")

    with pytest.raises(errors.VoucherUnknown) as refused:
        voucher_find(code=typed, caller="user:1")

    assert (refused.value.code, refused.value.message, refused.value.details) == (
        "voucher_unknown",
        "This voucher code is not valid.",
        {},
    )


def test_failed_lookups_are_limited_per_caller_and_successes_are_not_counted(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "voucher_attempt_per_caller": "3/hour"}
    code(campaign(), "NOEL2345")
    for _ in range(5):
        voucher_find(code="NOEL2345", caller="till")
    for _ in range(3):
        with pytest.raises(errors.VoucherUnknown):
            voucher_find(code="GUESS234", caller="guesser")

    with pytest.raises(RateLimited) as limited:
        voucher_find(code="NOEL2345", caller="guesser")

    assert limited.value.details["limit"] == "voucher_attempt_per_caller"
    assert voucher_find(code="NOEL2345", caller="till").code == "NOEL2345"


# --- the reasons a code is refused ------------------------------------------------------


@pytest.fixture
def places(db):
    web = SalesChannelFactory(code="web")
    app = SalesChannelFactory(code="app")
    paris = LocationFactory(code="paris")
    lyon = LocationFactory(code="lyon")
    return web, app, paris, lyon


def check(voucher, *, channel=None, location=None, customer=None, now=None) -> None:
    voucher_check(
        voucher=voucher,
        channel_id=channel.pk if channel else None,
        location_id=location.pk if location else None,
        customer=customer,
        now=now,
    )


def test_a_code_within_every_rule_passes(places):
    web, _app, paris, _lyon = places
    now = timezone.now()
    promotion = campaign(
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        segments=["champions"],
        usage_limit=5,
        per_customer_limit=1,
    )
    promotion.channels.set([web])
    promotion.locations.set([paris])
    voucher = code(promotion, max_uses=1)

    check(voucher, channel=web, location=paris, customer=CustomerFactory(rfm_segment="champions"))


def test_a_code_before_its_window_or_after_it_is_refused_with_the_date():
    now = timezone.now()
    early = code(campaign(starts_at=now + timedelta(hours=2)), "EARLY234")
    late = code(campaign(ends_at=now - timedelta(seconds=1)), "LATE2345")

    with pytest.raises(errors.VoucherNotStarted) as not_started:
        check(early, now=now)
    with pytest.raises(errors.VoucherExpired) as expired:
        check(late, now=now)

    assert not_started.value.code == "voucher_not_started"
    assert not_started.value.details["starts_at"] == early.promotion.starts_at.isoformat()
    assert expired.value.code == "voucher_expired"
    assert "LATE2345" in expired.value.message
    check(late, now=now - timedelta(seconds=2))  # the end is exclusive


def test_a_withdrawn_code_or_campaign_is_refused_as_withdrawn():
    off = campaign(is_active=False)
    with pytest.raises(errors.VoucherInactive) as refused:
        check(code(off))
    with pytest.raises(errors.VoucherInactive):
        check(code(campaign(), "OFF23456", is_active=False))
    assert refused.value.http_status == 409


def test_a_code_of_another_channel_or_store_is_refused(places):
    web, app, paris, lyon = places
    promotion = campaign()
    promotion.channels.set([web])
    promotion.locations.set([paris])
    voucher = code(promotion)

    with pytest.raises(errors.VoucherOtherChannel) as channel:
        check(voucher, channel=app, location=paris)
    with pytest.raises(errors.VoucherOtherStore) as store:
        check(voucher, channel=web, location=lyon)
    with pytest.raises(errors.VoucherOtherStore):
        check(voucher, channel=web)  # online, where store-only offers do not apply

    assert (channel.value.code, store.value.code) == (
        "voucher_other_channel",
        "voucher_other_store",
    )


def test_a_code_for_a_segment_refuses_other_customers_and_anonymous_carts():
    voucher = code(campaign(segments=["champions", "loyal"]))

    with pytest.raises(errors.VoucherSegment) as refused:
        check(voucher, customer=CustomerFactory(rfm_segment="new"))
    with pytest.raises(errors.VoucherSegment):
        check(voucher)

    assert refused.value.code == "voucher_segment"
    check(voucher, customer=CustomerFactory(rfm_segment="loyal"))


def test_a_used_up_campaign_or_code_is_refused_as_exhausted():
    full_campaign = code(campaign(usage_limit=3), "FULL2345")
    Promotion.objects.filter(pk=full_campaign.promotion_id).update(used_count=3)
    full_code = code(campaign(usage_limit=3), "CODE2345", max_uses=1)
    VoucherCode.objects.filter(pk=full_code.pk).update(used_count=1)

    with pytest.raises(errors.VoucherExhausted) as of_campaign:
        check(VoucherCode.objects.select_related("promotion").get(pk=full_campaign.pk))
    with pytest.raises(errors.VoucherExhausted) as of_code:
        check(VoucherCode.objects.get(pk=full_code.pk))

    assert of_campaign.value.code == of_code.value.code == "voucher_exhausted"
    assert (of_campaign.value.details["scope"], of_code.value.details["scope"]) == (
        "campaign",
        "code",
    )


def test_a_customer_limit_counts_the_customers_uses_and_needs_a_customer():
    voucher = code(campaign(per_customer_limit=1))
    camille, alex = CustomerFactory(), CustomerFactory()
    vouchers_use(uses=[(voucher, TEN)], customer=camille, reference="UC1")

    with pytest.raises(errors.VoucherCustomerLimit) as limited:
        check(voucher, customer=camille)
    with pytest.raises(errors.VoucherNeedsCustomer) as anonymous:
        check(voucher)

    assert limited.value.code == "voucher_customer_limit"
    assert anonymous.value.code == "voucher_needs_customer"
    check(voucher, customer=alex)


# --- use and release -----------------------------------------------------------------------


def test_using_codes_counts_them_and_records_each_use():
    first = code(campaign(usage_limit=10), "FIRST234")
    second = code(campaign(), "SECOND23")
    camille = CustomerFactory()

    rows = vouchers_use(
        uses=[(first, TEN), (second, Decimal("4.50"))], customer=camille, reference="UC7"
    )

    assert sorted((r.code.code, r.amount, r.customer_id, r.reference) for r in rows) == [
        ("FIRST234", TEN, camille.pk, "UC7"),
        ("SECOND23", Decimal("4.50"), camille.pk, "UC7"),
    ]
    assert counters(first) == (1, 1)
    assert counters(second) == (1, 1)


def test_a_use_worth_nothing_is_not_recorded_and_a_retried_order_is_not_counted_twice():
    voucher = code(campaign(usage_limit=5))
    refused = code(campaign(), "REFUSED2")

    vouchers_use(uses=[(voucher, TEN), (refused, Decimal("0.00"))], customer=None, reference="UC1")
    again = vouchers_use(uses=[(voucher, TEN)], customer=None, reference="UC1")

    assert again == []
    assert counters(voucher) == (1, 1)
    assert counters(refused) == (0, 0)
    assert VoucherRedemption.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "max_uses", "error"),
    [
        ({"usage_limit": 1}, None, errors.VoucherExhausted),
        ({}, 1, errors.VoucherExhausted),
        ({"per_customer_limit": 1}, None, errors.VoucherCustomerLimit),
    ],
)
def test_a_use_past_a_limit_is_refused_and_changes_nothing(fields, max_uses, error):
    camille = CustomerFactory()
    voucher = code(campaign(**fields), max_uses=max_uses)
    vouchers_use(uses=[(voucher, TEN)], customer=camille, reference="UC1")

    with pytest.raises(error):
        vouchers_use(uses=[(voucher, TEN)], customer=camille, reference="UC2")

    assert counters(voucher) == (1, 1)
    assert list(VoucherRedemption.objects.values_list("reference", flat=True)) == ["UC1"]


def test_two_codes_of_one_campaign_in_one_order_count_twice_against_its_limit():
    promotion = campaign(usage_limit=1)
    one, two = code(promotion, "ONE23456"), code(promotion, "TWO23456")

    with pytest.raises(errors.VoucherExhausted):
        vouchers_use(uses=[(one, TEN), (two, TEN)], customer=None, reference="UC1")

    assert counters(one) == (0, 0)
    assert VoucherRedemption.objects.count() == 0


def test_an_anonymous_order_cannot_use_a_code_limited_per_customer():
    voucher = code(campaign(per_customer_limit=2))

    with pytest.raises(errors.VoucherNeedsCustomer):
        vouchers_use(uses=[(voucher, TEN)], customer=None, reference="UC1")

    assert counters(voucher) == (0, 0)


def test_a_code_expired_or_withdrawn_by_placement_time_is_refused_then():
    voucher = code(campaign())
    Promotion.objects.filter(pk=voucher.promotion_id).update(
        ends_at=timezone.now() - timedelta(minutes=1)
    )

    with pytest.raises(errors.VoucherExpired):
        vouchers_use(uses=[(voucher, TEN)], customer=None, reference="UC1")

    assert VoucherRedemption.objects.count() == 0


def test_releasing_a_cancelled_order_gives_its_uses_back_once():
    camille = CustomerFactory()
    voucher = code(campaign(usage_limit=1, per_customer_limit=1), max_uses=1)
    other = code(campaign(), "OTHER234")
    vouchers_use(uses=[(voucher, TEN), (other, TEN)], customer=camille, reference="UC1")
    vouchers_use(uses=[(other, TEN)], customer=None, reference="UC2")

    released = vouchers_release(reference="UC1")
    again = vouchers_release(reference="UC1")

    assert sorted(row.code.code for row in released) == ["NOEL2345", "OTHER234"]
    assert all(row.released_at is not None for row in released)
    assert again == []
    assert counters(voucher) == (0, 0)
    assert counters(other) == (1, 1)
    assert VoucherRedemption.objects.filter(released_at__isnull=True).count() == 1
    # the use is free again, for the same customer too
    vouchers_use(uses=[(voucher, TEN)], customer=camille, reference="UC3")
    assert counters(voucher) == (1, 1)


def test_releasing_an_order_without_vouchers_does_nothing():
    assert vouchers_release(reference="UC404") == []


# --- customers merged and erased -----------------------------------------------------------


def test_a_merge_moves_the_duplicates_uses_so_the_limit_counts_the_person():
    voucher = code(campaign(per_customer_limit=1))
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    vouchers_use(uses=[(voucher, TEN)], customer=duplicate, reference="UC1")

    customer_merge(survivor=survivor, duplicate=duplicate)

    assert list(VoucherRedemption.objects.values_list("customer_id", flat=True)) == [survivor.pk]
    with pytest.raises(errors.VoucherCustomerLimit):
        check(voucher, customer=survivor)
