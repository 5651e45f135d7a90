"""Loyalty points are a ledger under a programme whose rules are data: earning follows
the programme's rate, channels and validity; redeeming never takes more than held nor
less than the minimum; reversals never move more than their reference did and never
leave a negative balance; expiry takes the oldest earnings not already consumed; every
movement is idempotent; merges move the balance by compensating rows."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from crm.services.merging import customer_merge
from loyalty.exceptions import (
    PointsBelowMinimum,
    PointsInsufficient,
    PointsInvalid,
    PointsKeyReused,
    PointsProgrammeInactive,
    PointsReasonRequired,
    PointsReferenceRequired,
)
from loyalty.models import PointsEntry, PointsProgramme
from loyalty.selectors import customer_points_summary
from loyalty.services.points import (
    points_adjust,
    points_balance,
    points_earn,
    points_expire,
    points_needed,
    points_redeem,
    points_reverse,
    points_value,
)
from loyalty.tasks import points_expire_task
from tests.factories import CustomerFactory, SalesChannelFactory, UserFactory

D = Decimal


@pytest.fixture
def programme(db) -> PointsProgramme:
    return PointsProgramme.objects.create(
        name="Fidélité",
        currency="EUR",
        points_per_unit=D("1.5"),
        point_value=D("0.05"),
        min_redeem_points=0,
        expiry_days=365,
    )


@pytest.fixture
def camille(db):
    return CustomerFactory()


def balance(customer, programme) -> int:
    return points_balance(customer=customer, programme=programme)


def rows(customer) -> list[tuple[str, int]]:
    return list(
        PointsEntry.objects.filter(customer=customer).order_by("id").values_list("kind", "points")
    )


def earn(customer, amount: str, reference: str = "UC1", **kwargs) -> PointsEntry | None:
    return points_earn(
        customer=customer, amount=D(amount), currency="EUR", reference=reference, **kwargs
    )


# --- earning


def test_earning_follows_the_programme_rate_rounded_down_with_its_validity(programme, camille):
    before = timezone.now()

    entry = earn(camille, "33.99", idempotency_key="order:1:earn")

    # 33.99 × 1.5 = 50.985 → 50 points, valid 365 days.
    assert (entry.kind, entry.points, entry.reference, entry.programme) == (
        "earn",
        50,
        "UC1",
        programme,
    )
    assert before + timedelta(days=365) <= entry.expires_at <= timezone.now() + timedelta(days=365)
    assert balance(camille, programme) == 50
    # The rate is data: changing the programme changes what the next order earns.
    programme.points_per_unit = D("2")
    programme.expiry_days = None
    programme.save()
    second = earn(camille, "10", reference="UC2")
    assert (second.points, second.expires_at) == (20, None)
    assert balance(camille, programme) == 70


def test_nothing_is_earned_without_an_active_programme_on_another_channel_or_under_a_point(
    programme, camille
):
    web = SalesChannelFactory(code="web")
    store = SalesChannelFactory(code="store", kind="store")
    programme.channels.set([store])

    assert earn(camille, "100", channel_id=web.pk) is None
    assert earn(camille, "0.50", channel_id=store.pk) is None  # 0.75 point
    assert earn(camille, "100", channel_id=store.pk).points == 150
    programme.is_active = False
    programme.save()
    assert earn(camille, "100", reference="UC9", channel_id=store.pk) is None
    assert points_earn(customer=camille, amount=D("100"), currency="USD") is None
    assert rows(camille) == [("earn", 150)]


def test_the_same_key_answers_the_same_row_and_another_customer_cannot_reuse_it(programme, camille):
    first = earn(camille, "20", idempotency_key="order:7:earn")
    again = earn(camille, "20", idempotency_key="order:7:earn")

    assert again.pk == first.pk
    with pytest.raises(PointsKeyReused):
        earn(CustomerFactory(), "20", idempotency_key="order:7:earn")
    with pytest.raises(PointsKeyReused):  # same customer, another kind of movement
        points_redeem(customer=camille, points=5, idempotency_key="order:7:earn")
    assert rows(camille) == [("earn", 30)]


@pytest.mark.parametrize("amount", ["-1", "NaN", "Infinity"])
def test_a_negative_or_non_finite_amount_earns_nothing_and_is_refused(programme, camille, amount):
    with pytest.raises(PointsInvalid):
        earn(camille, amount)
    assert rows(camille) == []


# --- redeeming


def test_redeeming_takes_points_and_refuses_more_than_held_or_less_than_the_minimum(
    programme, camille
):
    earn(camille, "100")  # 150 points
    programme.min_redeem_points = 20
    programme.save()

    with pytest.raises(PointsBelowMinimum) as below:
        points_redeem(customer=camille, points=19)
    with pytest.raises(PointsInsufficient) as short:
        points_redeem(customer=camille, points=151)

    assert (below.value.code, below.value.http_status) == ("points_below_minimum", 409)
    assert (short.value.code, short.value.details) == (
        "points_insufficient",
        {"points": 151, "balance": 150},
    )
    assert rows(camille) == [("earn", 150)]
    entry = points_redeem(customer=camille, points=150, reference="UC2", idempotency_key="r")
    assert (entry.kind, entry.points, entry.reference) == ("redeem", -150, "UC2")
    assert points_redeem(customer=camille, points=150, idempotency_key="r").pk == entry.pk
    assert balance(camille, programme) == 0


@pytest.mark.parametrize("points", [0, -3, "1.5", D("2.5"), True, 1.0])
def test_points_are_whole_positive_numbers(programme, camille, points):
    earn(camille, "100")
    with pytest.raises(PointsInvalid):
        points_redeem(customer=camille, points=points)
    assert balance(camille, programme) == 150


def test_redeeming_without_an_active_programme_is_refused(camille, db):
    with pytest.raises(PointsProgrammeInactive):
        points_redeem(customer=camille, points=10)


def test_what_points_are_worth_and_what_an_amount_needs(programme):
    assert points_value(150, programme) == D("7.50")
    assert points_needed(D("7.50"), programme) == 150
    assert points_needed(D("7.51"), programme) == 151  # never pays less than the amount


@pytest.mark.django_db(transaction=True)
def test_two_tills_redeeming_the_last_points_at_once_one_succeeds():
    programme = PointsProgramme.objects.create(name="P", currency="EUR", point_value=D("0.05"))
    customer = CustomerFactory()
    points_earn(customer=customer, amount=D("100"), currency="EUR", reference="UC1")
    barrier = threading.Barrier(2)
    results: list[str] = []
    lock = threading.Lock()

    def redeem(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            points_redeem(customer=customer, points=80, reference=f"till-{index}")
            outcome = "redeemed"
        except PointsInsufficient:
            outcome = "refused"
        finally:
            close_old_connections()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["redeemed", "refused"]
    assert points_balance(customer=customer, programme=programme) == 20


# --- reversing


def test_a_take_back_never_exceeds_what_the_reference_earned(programme, camille):
    earn(camille, "20", reference="UC1")  # 30
    earn(camille, "20", reference="UC2")  # 30

    first = points_reverse(customer=camille, points=-20, reference="UC1", idempotency_key="a")
    second = points_reverse(customer=camille, points=-20, reference="UC1", idempotency_key="b")
    third = points_reverse(customer=camille, points=-5, reference="UC1", idempotency_key="c")

    assert (first.points, first.reason) == (-20, "")
    assert (second.points, second.reason) == (-10, "asked -20, reversed -10")
    assert third is None
    assert balance(camille, programme) == 30
    assert (
        points_reverse(customer=camille, points=-20, reference="UC1", idempotency_key="a") == first
    )


def test_a_take_back_of_points_already_spent_stops_at_a_zero_balance(programme, camille):
    earn(camille, "20", reference="UC1")  # 30
    points_redeem(customer=camille, points=25, reference="UC5")

    entry = points_reverse(customer=camille, points=-30, reference="UC1", idempotency_key="r")

    assert (entry.points, entry.reason) == (-5, "asked -30, reversed -5")
    assert balance(camille, programme) == 0


def test_a_give_back_never_exceeds_what_the_reference_redeemed(programme, camille):
    earn(camille, "100", reference="UC1")  # 150
    points_redeem(customer=camille, points=40, reference="UC2")

    back = points_reverse(customer=camille, points=50, reference="UC2")
    nothing = points_reverse(customer=camille, points=1, reference="UC2")
    unknown = points_reverse(customer=camille, points=-5, reference="UC404")

    assert (back.points, back.kind) == (40, "reverse")
    assert nothing is None
    assert unknown is None
    assert balance(camille, programme) == 150
    with pytest.raises(PointsReferenceRequired):
        points_reverse(customer=camille, points=-1, reference="")


# --- adjusting


def test_an_adjustment_needs_a_reason_and_never_takes_more_than_held(programme, camille):
    clerk = UserFactory()
    earn(camille, "10")  # 15

    with pytest.raises(PointsReasonRequired):
        points_adjust(customer=camille, points=5, reason="  ", user=clerk)
    with pytest.raises(PointsInsufficient):
        points_adjust(customer=camille, points=-16, reason="typo", user=clerk)
    given = points_adjust(customer=camille, points=10, reason="goodwill", user=clerk)
    taken = points_adjust(customer=camille, points=-25, reason="fraud", user=clerk)

    assert (given.kind, given.points, given.reason, given.created_by) == (
        "adjust",
        10,
        "goodwill",
        clerk,
    )
    assert taken.points == -25
    assert balance(camille, programme) == 0


# --- expiring


def later(days: int):
    return timezone.now() + timedelta(days=days)


def test_expiry_takes_the_earnings_past_validity_that_were_not_spent_oldest_first(
    programme, camille
):
    earn(camille, "20", reference="UC1")  # 30, expires in 365 days
    programme.expiry_days = 30
    programme.save()
    earn(camille, "40", reference="UC2")  # 60, expires in 30 days
    points_adjust(customer=camille, points=7, reason="welcome", user=None)  # never expires
    points_redeem(customer=camille, points=50, reference="UC3")  # consumes UC2's first

    assert points_expire(later(10)) == 0
    assert points_expire(later(31)) == 10  # UC2: 60 − 50 spent
    assert points_expire(later(31)) == 0  # nothing more: idempotent
    assert balance(camille, programme) == 37
    assert points_expire(later(400)) == 30  # UC1, untouched
    assert balance(camille, programme) == 7
    assert rows(camille)[-2:] == [("expire", -10), ("expire", -30)]


def test_a_take_back_consumes_its_own_earning_before_others(programme, camille):
    earn(camille, "20", reference="UC1")  # 30, expires first
    programme.expiry_days = 700
    programme.save()
    earn(camille, "20", reference="UC2")  # 30
    points_reverse(customer=camille, points=-30, reference="UC2")  # UC2 returned

    assert points_expire(later(400)) == 30  # UC1 expires in full
    assert balance(camille, programme) == 0


def test_the_beat_task_expires_what_is_past_its_validity_and_is_scheduled(
    programme, camille, settings
):
    earn(camille, "20")  # 30, valid a year
    PointsEntry.objects.create(
        customer=camille,
        programme=programme,
        kind="earn",
        points=12,
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert points_expire_task() == 12
    assert points_expire_task() == 0
    assert balance(camille, programme) == 30
    assert settings.CELERY_BEAT_SCHEDULE["points-expire"]["task"] == "loyalty.points_expire"


# --- the ledger itself


def test_the_database_refuses_to_update_or_delete_points_rows(programme, camille):
    entry = earn(camille, "10")

    for sql in (
        "UPDATE loyalty_pointsentry SET points = 999 WHERE id = %s",
        "DELETE FROM loyalty_pointsentry WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.points == 15


# --- customers merged, the 360° view


def test_a_merge_moves_the_balance_by_two_rows_and_reversals_still_find_the_order(programme):
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    earn(survivor, "10", reference="UC1")  # 15
    earn(duplicate, "20", reference="UC2")  # 30

    customer_merge(survivor=survivor, duplicate=duplicate)

    assert rows(duplicate) == [("earn", 30), ("merge", -30)]
    assert rows(survivor) == [("earn", 15), ("merge", 30)]
    assert (balance(survivor, programme), balance(duplicate, programme)) == (45, 0)
    # A return of the duplicate's order, now the survivor's, takes back from the survivor.
    entry = points_reverse(customer=survivor, points=-30, reference="UC2")
    assert (entry.customer_id, entry.points) == (survivor.pk, -30)


def test_the_customer_summary_shows_balance_value_and_next_expiry(programme, camille):
    assert customer_points_summary(camille)["balance"] == 0
    entry = earn(camille, "100")

    summary = customer_points_summary(camille)

    assert summary == {
        "active": True,
        "programme": "Fidélité",
        "currency": "EUR",
        "balance": 150,
        "value": D("7.50"),
        "point_value": D("0.0500"),
        "min_redeem_points": 0,
        "next_expiry": entry.expires_at,
    }
    programme.is_active = False
    programme.save()
    assert customer_points_summary(camille) == {
        "active": False,
        "balance": 0,
        "value": D("0.00"),
    }
