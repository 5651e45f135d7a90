from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.db.models import QuerySet

from inventory.selectors import available_by_level, stock_fingerprint
from orders.services import CartPricing, PricedLine
from pos.models import Register


def registers_for(user) -> QuerySet[Register]:
    """The registers a seller may open: those of their stores (any, for managers)."""
    registers = Register.objects.filter(is_active=True, location__is_active=True).select_related(
        "location", "channel"
    )
    if user.has_perm("pos.sell_anywhere"):
        return registers
    if not user.has_perm("pos.sell"):
        return registers.none()
    return registers.filter(location__staff=user)


def free_here(*, variant_ids: list[int], location_id: int) -> dict[int, int]:
    """{variant_id: units the till may sell at this location}: on hand, less what is
    reserved now (a sale at the till may dip into safety stock). One query."""
    levels = available_by_level(pairs=[(v, location_id) for v in variant_ids])
    return {v: max(level.on_hand - level.reserved_now, 0) for (v, _), level in levels.items()}


@dataclass(frozen=True)
class LineStock:
    priced: PricedLine
    free: int  # units the till may sell here: on hand, less what is reserved now

    @property
    def short(self) -> bool:
        return self.priced.line.quantity > self.free


class CartStock:
    """The cart's lines with the units free for the till at this store, and the
    fingerprint their live poll compares. Read only if a template shows them (the
    cash-change partial does not): the fingerprint, then the levels, two queries
    whatever the number of lines."""

    def __init__(self, *, location_id: int, pricing: CartPricing) -> None:
        self.location_id = location_id
        self.pricing = pricing

    @cached_property
    def variant_ids(self) -> list[int]:
        return [priced.line.variant_id for priced in self.pricing.lines]

    @cached_property
    def _read(self) -> tuple[str, dict[int, int]]:
        if not self.variant_ids:
            return "", {}
        # First the fingerprint, then the figures: see stock_fingerprint.
        fingerprint = stock_fingerprint(
            variant_ids=self.variant_ids, location_ids=[self.location_id]
        )
        return fingerprint, free_here(variant_ids=self.variant_ids, location_id=self.location_id)

    @property
    def fingerprint(self) -> str:
        return self._read[0]

    @property
    def lines_param(self) -> str:
        return ",".join(str(v) for v in self.variant_ids)

    @cached_property
    def rows(self) -> list[LineStock]:
        free = self._read[1]
        return [LineStock(p, free.get(p.line.variant_id, 0)) for p in self.pricing.lines]
