"""Concurrent buyers on real PostgreSQL connections (one per thread)."""

import threading

import pytest
from django.db import close_old_connections, connection

from inventory.exceptions import InsufficientStock
from inventory.models import StockLevel, StockMovement
from inventory.services.stock import stock_sell

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(count: int, work) -> list:
    """Start ``count`` threads that call ``work(i)`` at the same instant; return outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    return outcomes


def test_two_connections_buying_the_last_unit_exactly_one_wins(shop, stocked_variant):
    variant = stocked_variant(store=1)

    outcomes = run_concurrently(
        2, lambda i: stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    )

    wins = [o for o in outcomes if isinstance(o, list)]
    losses = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert (len(wins), len(losses)) == (1, 1), outcomes
    assert StockLevel.objects.get(variant=variant, location=shop.store).on_hand == 0
    assert StockMovement.objects.filter(variant=variant, reason="sale").count() == 1


def test_baskets_locking_the_same_rows_in_opposite_orders_do_not_deadlock(shop, stocked_variant):
    a = stocked_variant(store=20)
    b = stocked_variant(store=20)
    baskets = [[(a.pk, 1), (b.pk, 1)], [(b.pk, 1), (a.pk, 1)]] * 5

    outcomes = run_concurrently(
        len(baskets), lambda i: stock_sell(location_id=shop.store.pk, lines=baskets[i])
    )

    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert StockLevel.objects.get(variant=a, location=shop.store).on_hand == 10
    assert StockLevel.objects.get(variant=b, location=shop.store).on_hand == 10


def test_32_connections_buying_and_reserving_from_every_channel_never_oversell(
    shop, stocked_variant
):
    """The store's tills sell from the Paris shelf while the web store reserves from the
    warehouse and from Paris, and converts some reservations into sales: exactly the 20
    units there are change hands, nothing goes negative, no deadlock."""
    from django.db.models import Sum

    from inventory.models import Reservation
    from inventory.services.reservations import reservation_convert, stock_reserve

    variant = stocked_variant(store=10, warehouse=10)
    locations = [shop.store.pk, shop.warehouse.pk]

    def buyer(index: int) -> dict:
        won = {"sold": 0, "reserved": 0, "refused": 0}
        for attempt in range(4):
            try:
                if index % 3 == 0:  # a till in Paris
                    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
                    won["sold"] += 1
                else:  # the web store
                    reservation = stock_reserve(
                        variant_id=variant.pk,
                        location_id=locations[(index + attempt) % 2],
                        quantity=1,
                        channel=shop.web,
                    )
                    if attempt % 2:
                        reservation_convert(reservation=reservation)
                        won["sold"] += 1
                    else:
                        won["reserved"] += 1
            except InsufficientStock:
                won["refused"] += 1
        return won

    outcomes = run_concurrently(32, buyer)

    assert all(isinstance(o, dict) for o in outcomes), [
        o for o in outcomes if not isinstance(o, dict)
    ]
    sold = sum(o["sold"] for o in outcomes)
    reserved = sum(o["reserved"] for o in outcomes)
    assert sold + reserved == 20
    assert sum(o["refused"] for o in outcomes) == 32 * 4 - 20
    levels = StockLevel.objects.filter(variant=variant)
    assert sum(level.on_hand for level in levels) == 20 - sold
    for level in levels:
        assert 0 <= level.reserved <= level.on_hand
        active = Reservation.objects.filter(
            variant=variant, location=level.location, status="active"
        ).aggregate(total=Sum("quantity"))["total"]
        assert level.reserved == (active or 0)
        ledger = StockMovement.objects.filter(variant=variant, location=level.location)
        assert level.on_hand == sum(ledger.values_list("quantity", flat=True))
    assert StockMovement.objects.filter(variant=variant, reason="sale").count() == sold
