from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from inventory.exceptions import InsufficientStock, InvalidExpiry, ReservationNotActive
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.selectors import stock_level
from inventory.services.reservations import (
    reservation_convert,
    reservation_release,
    reservations_expire,
    stock_reserve,
)
from inventory.services.stock import stock_sell
from unicommerce.events.models import OutboxEvent


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def expire(reservation: Reservation) -> None:
    """Make a reservation's time run out (without releasing it, as before the task runs)."""
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def soon():
    return timezone.now() + timedelta(minutes=15)


def test_a_reservation_holds_units_until_it_is_released(shop, stocked_variant):
    variant = stocked_variant(store=5)

    reservation = stock_reserve(
        variant_id=variant.pk,
        location_id=shop.store.pk,
        quantity=2,
        expires_at=soon(),
        channel=shop.web,
        reference="cart:1",
    )

    assert (reservation.status, reservation.quantity) == ("active", 2)
    assert (level(variant, shop.store).on_hand, level(variant, shop.store).reserved) == (5, 2)
    assert stock_level(variant_id=variant.pk, location_id=shop.store.pk).available_now == 3
    [event] = OutboxEvent.objects.filter(payload__reason="reservation")
    assert event.payload == {
        "variant_ids": [variant.pk],
        "location_ids": [shop.store.pk],
        "reason": "reservation",
    }

    reservation_release(reservation=reservation)

    assert level(variant, shop.store).reserved == 0
    assert Reservation.objects.get(pk=reservation.pk).status == "released"


def test_reserving_more_than_available_holds_nothing(shop, stocked_variant):
    variant = stocked_variant(store=2)
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)

    with pytest.raises(InsufficientStock) as raised:
        stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=2)

    assert raised.value.available == 1
    assert Reservation.objects.count() == 1
    assert level(variant, shop.store).reserved == 1


def test_channels_reserve_above_the_safety_stock_only(shop, stocked_variant):
    variant = stocked_variant(store=3)
    StockLevel.objects.filter(variant=variant).update(safety=2)

    with pytest.raises(InsufficientStock):
        stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=2)
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)

    assert level(variant, shop.store).reserved == 1


def test_reserved_units_cannot_be_sold_to_someone_else(shop, stocked_variant):
    variant = stocked_variant(store=1)
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)

    with pytest.raises(InsufficientStock):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    assert level(variant, shop.store).on_hand == 1


def test_an_expired_reservation_no_longer_counts_even_before_the_task_runs(shop, stocked_variant):
    variant = stocked_variant(store=1)
    reservation = stock_reserve(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=1, expires_at=soon()
    )
    expire(reservation)

    assert stock_level(variant_id=variant.pk, location_id=shop.store.pk).available_now == 1
    [movement] = stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])

    assert movement.on_hand_after == 0
    assert Reservation.objects.get(pk=reservation.pk).status == "expired"
    assert level(variant, shop.store).reserved == 0


def test_a_new_reservation_takes_over_expired_ones(shop, stocked_variant):
    variant = stocked_variant(store=1)
    old = stock_reserve(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=1, expires_at=soon()
    )
    expire(old)

    new = stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)

    assert Reservation.objects.get(pk=old.pk).status == "expired"
    assert Reservation.objects.get(pk=new.pk).status == "active"
    assert level(variant, shop.store).reserved == 1


def test_the_expiry_task_releases_what_is_due_and_tells_the_channels(shop, stocked_variant):
    variant = stocked_variant(store=4)
    due = stock_reserve(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=1, expires_at=soon()
    )
    kept = stock_reserve(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=2, expires_at=soon()
    )
    forever = stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
    expire(due)

    assert reservations_expire() == 1

    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses == {due.pk: "expired", kept.pk: "active", forever.pk: "active"}
    assert level(variant, shop.store).reserved == 3
    assert OutboxEvent.objects.filter(payload__reason="reservation_expired").count() == 1
    assert reservations_expire() == 0


def test_converting_a_reservation_sells_its_units_with_no_gap(shop, stocked_variant):
    variant = stocked_variant(store=3)
    reservation = stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=2)

    movement = reservation_convert(reservation=reservation)

    assert (movement.quantity, movement.reason, movement.on_hand_after) == (-2, "sale", 1)
    assert (level(variant, shop.store).on_hand, level(variant, shop.store).reserved) == (1, 0)
    assert Reservation.objects.get(pk=reservation.pk).status == "converted"


def test_an_expired_reservation_cannot_be_converted(shop, stocked_variant):
    variant = stocked_variant(store=3)
    reservation = stock_reserve(
        variant_id=variant.pk, location_id=shop.store.pk, quantity=2, expires_at=soon()
    )
    expire(reservation)

    with pytest.raises(ReservationNotActive) as raised:
        reservation_convert(reservation=reservation)

    assert raised.value.details["status"] == "expired"
    assert (level(variant, shop.store).on_hand, level(variant, shop.store).reserved) == (3, 2)
    assert not StockMovement.objects.filter(variant=variant, reason="sale").exists()


def test_a_reservation_ends_once(shop, stocked_variant):
    variant = stocked_variant(store=3)
    first = stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
    reservation_release(reservation=first)

    with pytest.raises(ReservationNotActive):
        reservation_release(reservation=first)
    with pytest.raises(ReservationNotActive):
        reservation_convert(reservation=first)

    assert (level(variant, shop.store).on_hand, level(variant, shop.store).reserved) == (3, 1)


def test_a_reservation_must_end_in_the_future(shop, stocked_variant):
    variant = stocked_variant(store=3)

    with pytest.raises(InvalidExpiry):
        stock_reserve(
            variant_id=variant.pk,
            location_id=shop.store.pk,
            quantity=1,
            expires_at=timezone.now() - timedelta(seconds=5),
        )
    assert not Reservation.objects.exists()


def test_reserved_is_the_sum_of_active_reservations(shop, stocked_variant):
    variant = stocked_variant(store=10)
    reservations = [
        stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=q)
        for q in (1, 2, 3)
    ]
    reservation_release(reservation=reservations[0])
    reservation_convert(reservation=reservations[1])

    active = Reservation.objects.filter(variant=variant, status="active").aggregate(
        s=Sum("quantity")
    )
    assert level(variant, shop.store).reserved == active["s"] == 3
