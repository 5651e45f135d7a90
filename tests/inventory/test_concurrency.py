"""Concurrent buyers on real PostgreSQL connections (one per thread)."""

import threading

import pytest
from django.db import close_old_connections, connection

from inventory.exceptions import InsufficientStock
from inventory.models import StockLevel, StockMovement
from inventory.services import stock_sell

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
