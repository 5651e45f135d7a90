"""Order orchestration: which locations ship which lines (docs/orchestration.md).

Checkout gathers, in one query, the candidate locations and what each has available of
the variants to ship, then calls the strategy named by the setting
``ORDER_ORCHESTRATION_STRATEGY`` (default: ``strategy_default`` below, registered under
its dotted path by ``orders.registry.orders_strategies_register``; a name nobody
registered is imported as a dotted path) with plain data:

    strategy(*, lines: Sequence[ShipLine], candidates: Sequence[Candidate],
             destination: Destination | None) -> list[Allocation]

It must return allocations covering every line exactly (a line may be split over
several locations) using no more than each candidate's available quantity, or raise
``Unallocatable`` when it cannot. Checkout then reserves the allocations, in
(variant, location) order, and a reservation losing a race still fails cleanly.

This module is pure: no queries, no models, so a strategy is easy to test and to replace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from django.utils.module_loading import import_string

# Above this many candidate sets of one size, search greedily instead of exhaustively.
MAX_COMBINATIONS = 5000


@dataclass(frozen=True)
class ShipLine:
    variant_id: int
    quantity: int


@dataclass(frozen=True)
class Candidate:
    """A location that may ship, with what it has available of each requested variant."""

    location_id: int
    available: dict[int, int] = field(default_factory=dict)
    postal_code: str = ""
    latitude: float | None = None
    longitude: float | None = None
    kind: str = ""

    def has(self, variant_id: int) -> int:
        return max(self.available.get(variant_id, 0), 0)


@dataclass(frozen=True)
class Destination:
    """Where the parcel goes: coordinates when the front end knows them, else a postal
    code."""

    postal_code: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Allocation:
    variant_id: int
    location_id: int
    quantity: int


class Unallocatable(Exception):
    """The candidates together do not hold enough of some variant."""

    def __init__(self, short: dict[int, int]) -> None:
        super().__init__(f"short of {short}")
        self.short = short  # variant_id -> total available over the candidates


Strategy = Callable[..., list[Allocation]]

_STRATEGIES: dict[str, Strategy] = {}


def orchestration_strategy_register(name: str, strategy: Strategy) -> None:
    """Make ``strategy`` the one ``ORDER_ORCHESTRATION_STRATEGY = name`` chooses
    (registering a name again replaces it)."""
    _STRATEGIES[name] = strategy


def orchestration_strategy_get(name: str) -> Strategy:
    """The strategy registered as ``name``, else the function at the dotted path
    ``name`` (a deployment's own strategy, docs/orchestration.md)."""
    strategy = _STRATEGIES.get(name)
    return strategy if strategy is not None else import_string(name)


EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def department(postal_code: str) -> str:
    """The French département of a postal code (97x/98x overseas: three digits; Corsica
    shares "20")."""
    code = (postal_code or "").strip().replace(" ", "")
    if len(code) < 2:
        return ""
    return code[:3] if code[:2] in {"97", "98"} else code[:2]


def distance(candidate: Candidate, destination: Destination | None) -> float:
    """How far a candidate is from the destination, comparable between candidates:
    kilometres when both have coordinates; otherwise 0 in the same département and
    a large constant elsewhere; unknown places last."""
    if destination is None:
        return 0.0
    if (
        destination.latitude is not None
        and destination.longitude is not None
        and candidate.latitude is not None
        and candidate.longitude is not None
    ):
        return haversine_km(
            float(candidate.latitude),
            float(candidate.longitude),
            float(destination.latitude),
            float(destination.longitude),
        )
    wanted = department(destination.postal_code)
    if wanted and wanted == department(candidate.postal_code):
        return 0.0
    if destination.latitude is not None and candidate.latitude is None:
        return 1e7  # cannot tell: after every location whose distance is known
    return 1e6


def _surplus(candidate: Candidate, lines: Sequence[ShipLine]) -> int:
    """Units the candidate would have left of the requested variants (or lacks)."""
    return sum(candidate.has(line.variant_id) - line.quantity for line in lines)


def strategy_default(
    *,
    lines: Sequence[ShipLine],
    candidates: Sequence[Candidate],
    destination: Destination | None = None,
) -> list[Allocation]:
    """1. one location that has every line in full; 2. otherwise the fewest locations
    that together have them (splitting lines if needed); 3. among equals, the nearest
    to the destination; 4. then the one(s) with the most units to spare."""
    lines = [line for line in lines if line.quantity > 0]
    if not lines:
        return []
    totals = {line.variant_id: sum(c.has(line.variant_id) for c in candidates) for line in lines}
    short = {
        line.variant_id: totals[line.variant_id]
        for line in lines
        if totals[line.variant_id] < line.quantity
    }
    if short:
        raise Unallocatable(short)
    useful = [c for c in candidates if any(c.has(line.variant_id) for line in lines)]

    def rank(group: Sequence[Candidate]) -> tuple:
        return (
            sum(distance(c, destination) for c in group),
            -sum(_surplus(c, lines) for c in group),
            sorted(c.location_id for c in group),
        )

    def covers(group: Sequence[Candidate]) -> bool:
        return all(sum(c.has(line.variant_id) for c in group) >= line.quantity for line in lines)

    for size in range(1, len(useful) + 1):
        if math.comb(len(useful), size) > MAX_COMBINATIONS:
            return _allocate(lines, _greedy_group(lines, useful, destination), destination)
        groups = [group for group in combinations(useful, size) if covers(group)]
        if groups:
            return _allocate(lines, min(groups, key=rank), destination)
    raise Unallocatable({})  # unreachable: the totals suffice, so all of them cover


def _greedy_group(
    lines: Sequence[ShipLine], candidates: Sequence[Candidate], destination: Destination | None
) -> list[Candidate]:
    """Many candidates: take the one covering the most missing units (nearest first on
    ties) until every line is covered."""
    missing = {line.variant_id: line.quantity for line in lines}
    group: list[Candidate] = []
    left = list(candidates)
    while any(q > 0 for q in missing.values()):
        best = max(
            left,
            key=lambda c: (
                sum(min(c.has(v), q) for v, q in missing.items()),
                -distance(c, destination),
                -c.location_id,
            ),
        )
        left.remove(best)
        group.append(best)
        for variant_id in missing:
            missing[variant_id] -= min(best.has(variant_id), missing[variant_id])
    return group


def _allocate(
    lines: Sequence[ShipLine], group: Sequence[Candidate], destination: Destination | None
) -> list[Allocation]:
    """Spread each line over the chosen locations: whole at the best location holding
    all of it, else split, nearest and best-stocked first."""
    order = sorted(
        group, key=lambda c: (distance(c, destination), -_surplus(c, lines), c.location_id)
    )
    allocations = []
    for line in lines:
        whole = next((c for c in order if c.has(line.variant_id) >= line.quantity), None)
        if whole is not None:
            allocations.append(Allocation(line.variant_id, whole.location_id, line.quantity))
            continue
        wanted = line.quantity
        for candidate in order:
            take = min(candidate.has(line.variant_id), wanted)
            if take:
                allocations.append(Allocation(line.variant_id, candidate.location_id, take))
                wanted -= take
            if not wanted:
                break
    return allocations
