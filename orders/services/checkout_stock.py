"""Checkout's stock: taking what the plan chose (``orders.services.checkout_plan``).

Lines taken now at the till are sold (``inventory.services.stock_sell``: the ledger
rows), the others reserved at their location (``stock_reserve``), always in (variant,
location) order so that concurrent checkouts never deadlock, by conditional statements
so that the last unit is never sold twice. A checkout that finds fewer units than it
planned on raises ``CheckoutRaceLost``: the checkout retries with fresh stock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from inventory.exceptions import InsufficientStock
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_sell
from orders.exceptions import InvalidFulfilment
from orders.models import Fulfilment, Order
from orders.services.checkout_plan import StockTake, line_shortage
from unicommerce.channels.models import SalesChannel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class CheckoutRaceLost(Exception):
    """A reservation or sale found fewer units than the plan counted on."""

    def __init__(self, lines: list[dict]) -> None:
        super().__init__(lines)
        self.lines = lines


def checkout_stock_take(
    takes: list[StockTake],
    *,
    order: Order,
    channel: SalesChannel,
    user: AbstractBaseUser | None,
    hold_taken_now: bool = False,
) -> dict[tuple[int, int], int]:
    """Sell and reserve in (variant, location) order; a loser of a race raises
    CheckoutRaceLost (the caller retries). Returns {(variant_id, location_id): reservation id}.
    With ``hold_taken_now`` (the order is not paid yet), taken-now lines are reserved at
    the till, safety stock included (the item is in the customer's hand), not sold."""
    ordered = sorted(takes, key=lambda t: (t.variant_id, t.location_id))
    reservations: dict[tuple[int, int], int] = {}
    index = 0
    while index < len(ordered):
        take = ordered[index]
        held = hold_taken_now and take.line.fulfilment == Fulfilment.TAKEN_NOW
        try:
            if take.line.fulfilment == Fulfilment.TAKEN_NOW and not held:
                # A run of taken-now lines (all at the till) is one sale, still in order.
                run = [take]
                while (
                    index + len(run) < len(ordered)
                    and ordered[index + len(run)].line.fulfilment == Fulfilment.TAKEN_NOW
                ):
                    run.append(ordered[index + len(run)])
                stock_sell(
                    location_id=take.location_id,
                    lines=[(t.variant_id, t.quantity) for t in run],
                    user=user,
                    source=order,
                    unbooked_sale_ids={t.variant_id: t.unbooked.pk for t in run if t.unbooked},
                )
                index += len(run)
                continue
            reservation = stock_reserve(
                variant_id=take.variant_id,
                location_id=take.location_id,
                quantity=take.quantity,
                expires_at=None,
                channel=channel,
                reference=order.reference,
                user=user,
                keep_safety=not held,
            )
        except InsufficientStock as error:
            line = take.line
            short = line_shortage(line, error.available)
            if take.unbooked is not None:
                short["unbooked_approved"] = take.unbooked.quantity
            if line.location is None:  # orchestrated: say where the race was lost
                short["location_name"] = error.location
            raise CheckoutRaceLost([short]) from error
        reservations[(take.variant_id, take.location_id)] = reservation.pk
        index += 1
    return reservations


def unbooked_unpaid_refuse(takes: list[StockTake]) -> None:
    """An item the books do not have here (sold anyway, approved) leaves with the
    customer at once: it cannot be held for a payment to come."""
    for take in takes:
        if take.unbooked is not None and take.line.fulfilment == Fulfilment.TAKEN_NOW:
            raise InvalidFulfilment(
                _(
                    "%(sku)s is not in the books here: sold anyway, it must be paid now, "
                    "at the till."
                )
                % {"sku": take.line.priced.line.variant.sku},
                sku=take.line.priced.line.variant.sku,
            )
