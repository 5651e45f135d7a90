"""Spreading an amount over lines to the cent, and the refund share of returned units.

Pure arithmetic (no database): the pricing engine spreads a voucher, a basket discount or
a VAT row over lines with ``allocate``; returns refund "what was paid" with
``share_of_units``. Both work on exact multiples of 10**-exponent (the currency's minor
unit), so what they hand out always adds up to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal


def quantum(exponent: int) -> Decimal:
    """The minor unit for an exponent: 0.01 for 2, 1 for 0, 0.001 for 3."""
    return Decimal(1).scaleb(-exponent)


def round_half_up(amount: Decimal, exponent: int = 2) -> Decimal:
    """Half-up to 10**-exponent: the one rounding rule of money (unicommerce.money)."""
    return amount.quantize(quantum(exponent), rounding=ROUND_HALF_UP)


def _units(amount: Decimal, exponent: int, what: str) -> int:
    """An amount as a whole number of minor units; refuses a negative or finer amount
    (an allocation of sub-cent inputs could not sum exactly)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(amount).__name__}")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what} must be a finite amount >= 0, got {amount}")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {amount} is finer than 10**-{exponent}")
    return int(scaled)


def allocate(amount: Decimal, weights: Sequence[Decimal], *, exponent: int = 2) -> list[Decimal]:
    """Spread ``amount`` over ``weights`` in proportion, largest remainder first.

    The shares sum to exactly ``min(amount, sum(weights))``; each share lies between 0
    and its weight, so a discount never makes a line negative. Each share is within one
    minor unit of the exact proportion. Ties between remainders go to the earlier index,
    so the same input always gives the same cents. ``amount >= sum(weights)`` gives every
    weight in full (100 % off); all-zero weights give all-zero shares.
    """
    target = _units(amount, exponent, "amount")
    units = [_units(weight, exponent, "weight") for weight in weights]
    total = sum(units)
    unit = quantum(exponent)
    if total == 0:
        return [Decimal(0) * unit for _ in units]
    if target >= total:
        return [Decimal(share) * unit for share in units]
    floors = [target * weight // total for weight in units]
    remainders = [target * weight % total for weight in units]
    leftover = target - sum(floors)
    # Every remainder is < total and the fractional parts add up to ``leftover``, so at
    # least ``leftover`` indices have a positive remainder: a weight of 0 (remainder 0)
    # never gets a cent, and floor + 1 <= weight whenever the remainder is positive.
    order = sorted(range(len(units)), key=lambda index: (-remainders[index], index))
    for index in order[:leftover]:
        floors[index] += 1
    return [Decimal(share) * unit for share in floors]


def share_of_units(
    total: Decimal,
    quantity: int,
    units: int,
    units_before: int,
    amount_before: Decimal,
    *,
    exponent: int = 2,
) -> Decimal:
    """The part of ``total`` (what ``quantity`` units cost together) that ``units`` of
    them are worth, when ``units_before`` units worth ``amount_before`` were already
    taken out (refund "what was paid" over several partial returns).

    The last units take exactly what is left, so the shares of a sequence of returns add
    up to ``total``; an earlier share is ``total * units / quantity`` half-up, capped at
    what is left.
    """
    if quantity < 1 or units < 0 or units_before < 0:
        raise ValueError("quantity must be >= 1 and units, units_before >= 0")
    if units + units_before > quantity:
        raise ValueError(
            f"{units} + {units_before} units returned exceed the {quantity} of the line"
        )
    left = total - amount_before
    if left < 0:
        raise ValueError(f"amount_before {amount_before} exceeds the total {total}")
    if units + units_before == quantity:
        return left
    return min(round_half_up(total * units / quantity, exponent), left)
