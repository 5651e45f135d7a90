"""The default orchestration strategy, on plain data: full availability first, then
fewest locations, then nearest, then most surplus."""

from __future__ import annotations

import pytest

from orders.orchestration import (
    Allocation,
    Candidate,
    Destination,
    ShipLine,
    Unallocatable,
    department,
    haversine_km,
    strategy_default,
)

PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)
LILLE = (50.6292, 3.0573)


def place(location_id, available, *, at=None, postal_code=""):
    lat, lon = at if at else (None, None)
    return Candidate(location_id, dict(available), postal_code, lat, lon)


def test_one_location_with_everything_wins_over_a_nearer_one_with_part_of_it():
    near_but_short = place(1, {10: 1, 20: 5}, at=LYON)
    far_but_full = place(2, {10: 2, 20: 1}, at=LILLE)

    allocations = strategy_default(
        lines=[ShipLine(10, 2), ShipLine(20, 1)],
        candidates=[near_but_short, far_but_full],
        destination=Destination(latitude=LYON[0], longitude=LYON[1]),
    )

    assert allocations == [Allocation(10, 2, 2), Allocation(20, 2, 1)]


def test_the_fewest_locations_are_used_when_none_has_everything():
    has_a = place(1, {10: 3})
    has_b = place(2, {20: 3})
    a_bit_of_both = place(3, {10: 1, 20: 1})

    allocations = strategy_default(
        lines=[ShipLine(10, 2), ShipLine(20, 2)],
        candidates=[a_bit_of_both, has_a, has_b],
    )

    assert sorted(allocations, key=lambda a: a.variant_id) == [
        Allocation(10, 1, 2),
        Allocation(20, 2, 2),
    ]


def test_a_line_no_location_can_fill_alone_is_split_nearest_first():
    paris = place(1, {10: 2}, at=PARIS)
    lille = place(2, {10: 4}, at=LILLE)

    allocations = strategy_default(
        lines=[ShipLine(10, 5)],
        candidates=[lille, paris],
        destination=Destination(latitude=PARIS[0], longitude=PARIS[1]),
    )

    assert allocations == [Allocation(10, 1, 2), Allocation(10, 2, 3)]


def test_among_full_locations_the_nearest_by_coordinates_wins():
    paris = place(1, {10: 5}, at=PARIS)
    lyon = place(2, {10: 5}, at=LYON)

    to_lyon = Destination(latitude=45.75, longitude=4.85)
    to_paris = Destination(latitude=48.85, longitude=2.35)

    assert strategy_default(
        lines=[ShipLine(10, 1)], candidates=[paris, lyon], destination=to_lyon
    ) == [Allocation(10, 2, 1)]
    assert strategy_default(
        lines=[ShipLine(10, 1)], candidates=[paris, lyon], destination=to_paris
    ) == [Allocation(10, 1, 1)]


def test_without_coordinates_the_same_departement_wins():
    paris = place(1, {10: 5}, postal_code="75011")
    lyon = place(2, {10: 5}, postal_code="69002")

    allocations = strategy_default(
        lines=[ShipLine(10, 1)],
        candidates=[paris, lyon],
        destination=Destination(postal_code="69007"),
    )

    assert allocations == [Allocation(10, 2, 1)]


def test_at_equal_distance_the_location_with_the_most_surplus_wins():
    thin = place(1, {10: 2})
    deep = place(2, {10: 40})

    assert strategy_default(lines=[ShipLine(10, 2)], candidates=[thin, deep]) == [
        Allocation(10, 2, 2)
    ]


def test_too_few_units_over_all_candidates_is_unallocatable_with_the_totals():
    with pytest.raises(Unallocatable) as error:
        strategy_default(
            lines=[ShipLine(10, 5), ShipLine(20, 1)],
            candidates=[place(1, {10: 2, 20: 1}), place(2, {10: 1})],
        )

    assert error.value.short == {10: 3}


def test_many_candidates_still_cover_every_line():
    candidates = [place(i, {10: 1, 20: 1}) for i in range(1, 41)]

    allocations = strategy_default(lines=[ShipLine(10, 7), ShipLine(20, 3)], candidates=candidates)

    assert sum(a.quantity for a in allocations if a.variant_id == 10) == 7
    assert sum(a.quantity for a in allocations if a.variant_id == 20) == 3
    assert all(a.quantity == 1 for a in allocations)


def test_haversine_and_departements():
    assert round(haversine_km(*PARIS, *LYON)) == 391  # km, as the crow flies
    assert department("75011") == "75"
    assert department("97110") == "971"
    assert department("") == ""
