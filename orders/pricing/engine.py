"""The pricing engine: what a basket costs, line by line, after every discount, with VAT.

Pure (no database, no models): the caller builds ``LineInput``, ``Offer`` and
``ManualDiscount`` values and gets a ``Pricing`` back, so every face (cart API, till,
order drafts) prices the same way and the rules are testable on their own. The order of
the stages and every choice the engine makes are written down in docs/pricing.md:

catalogue promotions -> line stage (line promotions, bxgy, line vouchers) -> order stage
(order promotions, order vouchers, free items) -> manual discounts -> VAT.

Amounts are VAT-inclusive Decimals (French retail prices are TTC) on the grid of
10**-exponent; tenders (gift cards, points, store credit) are not discounts and are not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from orders.pricing.allocation import allocate, quantum, round_half_up, share_of_units

CATALOGUE, LINE, ORDER, MANUAL = "catalogue", "line", "order", "manual"
STAGES = (CATALOGUE, LINE, ORDER)
PERCENT, AMOUNT, FREE_ITEM, BXGY = "percent", "amount", "free_item", "bxgy"
REWARDS = (PERCENT, AMOUNT, FREE_ITEM, BXGY)
BELOW_MINIMUM, NO_ELIGIBLE_LINE = "below_minimum", "no_eligible_line"
NOT_STACKABLE = "not_stackable"
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineInput:
    key: object  # the cart line id (opaque)
    variant_id: int
    product_id: int
    category_ids: frozenset[int]  # the product's category and all its ancestors
    quantity: int  # >= 1
    unit_price: Decimal  # list price per unit, VAT included
    vat_rate: Decimal  # percent, e.g. Decimal("20.0")
    discountable: bool = True  # False for gift cards: never discounted, not in thresholds

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"line {self.key!r}: quantity must be >= 1")
        if self.unit_price < 0 or self.vat_rate < 0:
            raise ValueError(f"line {self.key!r}: unit price and VAT rate must be >= 0")


@dataclass(frozen=True)
class Offer:
    id: int
    label: str
    stage: str  # "catalogue" | "line" | "order"
    reward: str  # "percent" | "amount" | "free_item" | "bxgy"
    value: Decimal  # percent in (0, 100] or an amount > 0 (bxgy: percent off the Y items)
    product_ids: frozenset[int] = frozenset()  # targets; all three empty = every line
    category_ids: frozenset[int] = frozenset()
    variant_ids: frozenset[int] = frozenset()
    stackable: bool = False
    priority: int = 0
    min_subtotal: Decimal | None = None  # on the DISCOUNTED subtotal of eligible lines
    buy_quantity: int = 0  # bxgy: buy X ...
    get_quantity: int = 0  # ... get Y (the cheapest eligible units) at value % off
    free_variant_id: int | None = None  # free_item: one unit of this variant, if in the cart
    code: str | None = None  # set when the offer comes from a voucher code entered

    def __post_init__(self) -> None:
        if self.stage not in STAGES or self.reward not in REWARDS:
            raise ValueError(f"offer {self.id}: unknown stage {self.stage} or reward {self.reward}")
        if self.stage == CATALOGUE and self.reward not in (PERCENT, AMOUNT):
            raise ValueError(f"offer {self.id}: a catalogue offer is a percent or an amount")
        if self.reward == FREE_ITEM:
            if self.free_variant_id is None:
                raise ValueError(f"offer {self.id}: a free item names its variant")
            return
        if not self.value > 0 or (self.reward in (PERCENT, BXGY) and self.value > HUNDRED):
            raise ValueError(f"offer {self.id}: value {self.value} out of range")
        if self.reward == BXGY and (self.buy_quantity < 1 or self.get_quantity < 1):
            raise ValueError(f"offer {self.id}: bxgy needs buy and get quantities >= 1")


@dataclass(frozen=True)
class ManualDiscount:
    key: object
    line_key: object | None  # None = the whole basket
    kind: str  # "percent" | "amount"
    value: Decimal
    reason: str

    def __post_init__(self) -> None:
        if self.kind not in (PERCENT, AMOUNT):
            raise ValueError(f"manual discount {self.key!r}: unknown kind {self.kind}")
        if not self.value > 0 or (self.kind == PERCENT and self.value > HUNDRED):
            raise ValueError(f"manual discount {self.key!r}: value {self.value} out of range")


@dataclass(frozen=True)
class AppliedDiscount:
    source: str  # "promotion" | "voucher" | "manual"
    source_id: object  # the offer id, or the manual discount's key
    stage: str  # "catalogue" | "line" | "order" | "manual"
    label: str
    amount: Decimal  # > 0, for the whole line
    code: str | None = None


@dataclass(frozen=True)
class LineResult:
    key: object
    quantity: int
    list_unit_price: Decimal
    unit_price: Decimal  # after the catalogue stage
    subtotal: Decimal  # list_unit_price * quantity
    discounts: tuple[AppliedDiscount, ...]
    discount_amount: Decimal
    total: Decimal  # what is paid, VAT included
    vat_rate: Decimal
    vat_amount: Decimal
    net_amount: Decimal


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


class AppliedOffer(NamedTuple):
    offer_id: int
    code: str | None
    label: str
    amount: Decimal


class Refusal(str):
    """Why a voucher gave nothing: compares equal to its reason ("below_minimum",
    "no_eligible_line", "not_stackable") and carries the minimum when one was missed."""

    minimum: Decimal | None

    def __new__(cls, reason: str, minimum: Decimal | None = None) -> Refusal:
        refusal = super().__new__(cls, reason)
        refusal.minimum = minimum
        return refusal


@dataclass(frozen=True)
class Pricing:
    lines: tuple[LineResult, ...]
    subtotal: Decimal
    discount_amount: Decimal
    total: Decimal
    vat: tuple[VatRow, ...]  # sorted by rate
    applied: tuple[AppliedOffer, ...]  # every offer that changed something, in order
    refused: dict[str, Refusal]  # voucher code -> why it gave nothing


@dataclass
class _LineState:
    line: LineInput
    unit_price: Decimal
    amount: Decimal  # the line's current total
    discounts: list[AppliedDiscount] = field(default_factory=list)


class _States(list):
    """The lines' states, with which lines each offer targets (``eligible``), computed once
    per offer from indexes by variant, product and category rather than line by line:
    with hundreds of promotions this is where the time went."""

    def __init__(self, states: list[_LineState]) -> None:
        super().__init__(states)
        self.discountable = frozenset(i for i, st in enumerate(states) if st.line.discountable)
        self.by_variant: dict[int, set[int]] = defaultdict(set)
        self.by_product: dict[int, set[int]] = defaultdict(set)
        self.by_category: dict[int, set[int]] = defaultdict(set)
        for i in self.discountable:
            line = states[i].line
            self.by_variant[line.variant_id].add(i)
            self.by_product[line.product_id].add(i)
            for category in line.category_ids:
                self.by_category[category].add(i)
        self._eligible: dict[tuple, frozenset[int]] = {}

    def eligible(self, offer: Offer) -> frozenset[int]:
        """The discountable lines ``offer`` targets (all of them without targets)."""
        key = (offer.id, offer.code)
        found = self._eligible.get(key)
        if found is None:
            if not (offer.product_ids or offer.category_ids or offer.variant_ids):
                found = self.discountable
            else:
                hit: set[int] = set()
                for ids, index in (
                    (offer.variant_ids, self.by_variant),
                    (offer.product_ids, self.by_product),
                    (offer.category_ids, self.by_category),
                ):
                    for target in ids:
                        hit |= index.get(target, set())
                found = frozenset(hit)
            self._eligible[key] = found
        return found


class _Outcome:
    """What an offer takes off: ``amounts`` (line index -> discount on the whole line,
    > 0 only) and ``taken`` (the lines it uses; no other exclusive offer may). A spread
    offer's amounts are only allocated when asked for: ranking offers needs their totals
    alone, which are known without spreading."""

    def __init__(self, amounts, taken, refusal=None, *, spread=None) -> None:
        self._amounts = amounts
        self.taken = taken
        self.refusal = refusal
        self._spread = spread  # (whole, lines, weights, exponent), allocated on demand

    @property
    def amounts(self) -> dict[int, Decimal]:
        if self._amounts is None:
            whole, lines, weights, exponent = self._spread
            shares = allocate(whole, weights, exponent=exponent)
            self._amounts = {i: a for i, a in zip(lines, shares, strict=True) if a > 0}
        return self._amounts

    @property
    def total(self) -> Decimal:
        if self._amounts is None:
            whole, _lines, weights, _exponent = self._spread
            return min(whole, sum(weights, Decimal(0)))
        return sum(self._amounts.values(), Decimal(0))


@dataclass
class _Book:
    applied: list[AppliedOffer] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)


def _nothing(reason: str, minimum: Decimal | None = None) -> _Outcome:
    return _Outcome({}, frozenset(), Refusal(reason, minimum))


def _below_minimum(offer: Offer, states: list[_LineState], lines: Sequence[int]) -> bool:
    if offer.min_subtotal is None:
        return False
    return sum((states[i].amount for i in lines), Decimal(0)) < offer.min_subtotal


def _catalogue_amounts(offer: Offer, states: list[_LineState], lines: list[int], exponent: int):
    """Per unit, rounded per unit: the unit price itself changes."""
    amounts = {}
    for i in lines:
        unit = states[i].unit_price
        if offer.reward == PERCENT:
            off = round_half_up(unit * offer.value / HUNDRED, exponent)
        else:
            off = round_half_up(offer.value, exponent)
        amounts[i] = min(off, unit) * states[i].line.quantity
    return amounts, frozenset(i for i in lines if amounts[i] > 0)


def _spread_amounts(offer: Offer, states: list[_LineState], lines: list[int], exponent: int):
    """One amount for all the offer's lines, spread in proportion to their current
    amounts: a percent of their sum, or the amount capped at their sum."""
    weights = [states[i].amount for i in lines]
    if offer.reward == PERCENT:
        whole = round_half_up(sum(weights, Decimal(0)) * offer.value / HUNDRED, exponent)
    else:
        whole = round_half_up(offer.value, exponent)
    taken = frozenset(i for i, weight in zip(lines, weights, strict=True) if weight > 0)
    return (whole, lines, weights, exponent), taken


def _unit_amounts(state: _LineState, exponent: int) -> list[Decimal]:
    """A line's current amount split per unit, adding up to it to the cent."""
    quantity, before, units = state.line.quantity, Decimal(0), []
    for done in range(quantity):
        unit = share_of_units(state.amount, quantity, 1, done, before, exponent=exponent)
        before += unit
        units.append(unit)
    return units


def _bxgy_amounts(offer: Offer, states: list[_LineState], lines: list[int], exponent: int):
    """Eligible units, dearest first (ties in line order); each full group of X+Y gives
    its Y cheapest at value % off. Lines with a unit in a full group are taken."""
    units = [(unit, i) for i in lines for unit in _unit_amounts(states[i], exponent)]
    units.sort(key=lambda pair: -pair[0])  # stable: ties keep line order
    size = offer.buy_quantity + offer.get_quantity
    free: dict[int, Decimal] = defaultdict(Decimal)
    taken: set[int] = set()
    for start in range(0, len(units) - size + 1, size):
        group = units[start : start + size]
        taken.update(i for _, i in group)
        for unit, i in group[offer.buy_quantity :]:
            free[i] += unit
    amounts = {i: round_half_up(paid * offer.value / HUNDRED, exponent) for i, paid in free.items()}
    return amounts, frozenset(taken)


def _evaluate_free_item(
    offer: Offer, states: list[_LineState], allowed: frozenset[int], exponent: int
) -> _Outcome:
    """One unit of the free variant at 100 % off, when the threshold holds on the other
    eligible lines (the gift does not pay for its own threshold)."""
    gifts = [
        i
        for i in sorted(allowed)
        if states[i].line.variant_id == offer.free_variant_id and states[i].line.discountable
    ]
    if not gifts:
        return _nothing(NO_ELIGIBLE_LINE)
    others = [
        i
        for i in sorted(states.eligible(offer))
        if states[i].line.variant_id != offer.free_variant_id
    ]
    if _below_minimum(offer, states, others):
        return _nothing(BELOW_MINIMUM, offer.min_subtotal)
    gift = gifts[0]
    unit = _unit_amounts(states[gift], exponent)[0]
    if unit <= 0:
        return _nothing(NO_ELIGIBLE_LINE)
    return _Outcome({gift: unit}, frozenset({gift}))


def _evaluate(
    offer: Offer, states: list[_LineState], allowed: frozenset[int], exponent: int
) -> _Outcome:
    """What ``offer`` alone would take off the ``allowed`` lines at their current amounts."""
    if offer.reward == FREE_ITEM:
        return _evaluate_free_item(offer, states, allowed, exponent)
    lines = sorted(allowed & states.eligible(offer))
    if not lines:
        return _nothing(NO_ELIGIBLE_LINE)
    if _below_minimum(offer, states, lines):
        return _nothing(BELOW_MINIMUM, offer.min_subtotal)
    if offer.stage == CATALOGUE:
        amounts, taken = _catalogue_amounts(offer, states, lines, exponent)
    elif offer.reward == BXGY:
        amounts, taken = _bxgy_amounts(offer, states, lines, exponent)
    else:
        spread, taken = _spread_amounts(offer, states, lines, exponent)
        whole, _lines, weights, _exponent = spread
        if whole <= 0 or not any(weight > 0 for weight in weights):
            return _nothing(NO_ELIGIBLE_LINE)
        return _Outcome(None, taken, spread=spread)
    amounts = {i: amount for i, amount in amounts.items() if amount > 0}
    if not amounts:
        return _nothing(NO_ELIGIBLE_LINE)
    return _Outcome(amounts, taken)


def _apply(offer: Offer, outcome: _Outcome, states: list[_LineState], book: _Book) -> None:
    source = "promotion" if offer.code is None else "voucher"
    for i, amount in outcome.amounts.items():
        state = states[i]
        state.amount -= amount
        if offer.stage == CATALOGUE:
            state.unit_price -= amount / state.line.quantity
        state.discounts.append(
            AppliedDiscount(source, offer.id, offer.stage, offer.label, amount, offer.code)
        )
    book.applied.append(AppliedOffer(offer.id, offer.code, offer.label, outcome.total))
    if offer.code is not None:
        book.used_codes.add(offer.code)


def _refuse(offer: Offer, refusal: Refusal | None, book: _Book) -> None:
    if offer.code is not None and refusal is not None:
        book.refused.setdefault(offer.code, refusal)


def _untouched(offer: Offer, states: list[_LineState], taken: set[int]) -> bool:
    """No line ``offer`` looks at (its targets; a free item's threshold lines and gift)
    is among ``taken``."""
    if offer.reward == FREE_ITEM:
        return False  # its threshold counts lines beyond its targets: evaluate again
    return states.eligible(offer).isdisjoint(taken)


def _may_apply(offer: Offer, states: _States) -> bool:
    return offer.code is not None or offer.reward == FREE_ITEM or bool(states.eligible(offer))


def _run_stage(
    stage: str, offers: Sequence[Offer], states: list[_LineState], book: _Book, exponent: int
) -> None:
    """Exclusive offers first: ranked once by what each gives alone (discount desc,
    priority desc, id asc), each then applied to the lines no earlier one took. Then the
    stackable offers on top, by (priority desc, id asc), on the current amounts."""
    everything = frozenset(range(len(states)))
    # An automatic offer targeting no line of this basket gives nothing and owes no
    # refusal: it is left out (most of them, with hundreds of promotions).
    offers = [offer for offer in offers if offer.stage == stage and _may_apply(offer, states)]
    exclusive = [offer for offer in offers if not offer.stackable]
    alone = [_evaluate(offer, states, everything, exponent) for offer in exclusive]
    ranked = sorted(
        range(len(exclusive)),
        key=lambda k: (-alone[k].total, -exclusive[k].priority, exclusive[k].id, k),
    )
    taken: set[int] = set()
    for k in ranked:
        offer = exclusive[k]
        outcome = alone[k]
        if offer.code is None and not outcome.taken:
            continue  # nothing alone on every line: nothing on fewer either
        # Only the lines an earlier offer took have changed: an offer whose lines are
        # all untouched gives what it gave alone (no need to evaluate it again; with
        # hundreds of promotions this is most of them).
        if taken and not _untouched(offer, states, taken):
            outcome = _evaluate(offer, states, everything - taken, exponent)
        if outcome.amounts:
            _apply(offer, outcome, states, book)
            taken |= outcome.taken
        else:
            _refuse(offer, alone[k].refusal or Refusal(NOT_STACKABLE), book)
    stackable = [offer for offer in offers if offer.stackable]
    for offer in sorted(stackable, key=lambda offer: (-offer.priority, offer.id)):
        outcome = _evaluate(offer, states, everything, exponent)
        if outcome.amounts:
            _apply(offer, outcome, states, book)
        else:
            _refuse(offer, outcome.refusal, book)


def _manual_amount(discount: ManualDiscount, base: Decimal, exponent: int) -> Decimal:
    if discount.kind == PERCENT:
        return min(round_half_up(base * discount.value / HUNDRED, exponent), base)
    return min(round_half_up(discount.value, exponent), base)


def _apply_manual(
    manual: Sequence[ManualDiscount], states: list[_LineState], exponent: int
) -> None:
    """Line discounts first (in the given order), then basket discounts, each spread over
    the discountable lines in proportion to their current amounts."""
    index = {state.line.key: i for i, state in enumerate(states)}
    for discount in (d for d in manual if d.line_key is not None):
        if discount.line_key not in index:
            raise ValueError(f"manual discount {discount.key!r}: no line {discount.line_key!r}")
        state = states[index[discount.line_key]]
        if not state.line.discountable:
            raise ValueError(f"manual discount {discount.key!r}: line is not discountable")
        _take_manual(discount, state, _manual_amount(discount, state.amount, exponent))
    lines = [state for state in states if state.line.discountable]
    for discount in (d for d in manual if d.line_key is None):
        weights = [state.amount for state in lines]
        whole = _manual_amount(discount, sum(weights, Decimal(0)), exponent)
        for state, share in zip(lines, allocate(whole, weights, exponent=exponent), strict=True):
            _take_manual(discount, state, share)


def _take_manual(discount: ManualDiscount, state: _LineState, amount: Decimal) -> None:
    if amount > 0:
        state.amount -= amount
        state.discounts.append(
            AppliedDiscount("manual", discount.key, MANUAL, discount.reason, amount)
        )


def _vat(states: list[_LineState], exponent: int) -> tuple[tuple[VatRow, ...], list[Decimal]]:
    """Per rate, VAT on the SUM of the discounted lines (rounded once, as
    unicommerce.money.vat_included_split), then spread over the lines of that rate."""
    by_rate: dict[Decimal, list[int]] = defaultdict(list)
    for i, state in enumerate(states):
        by_rate[state.line.vat_rate].append(i)
    rows, line_vat = [], [Decimal(0)] * len(states)
    for rate in sorted(by_rate):
        lines = by_rate[rate]
        gross = sum((states[i].amount for i in lines), Decimal(0) * quantum(exponent))
        vat = round_half_up(gross * rate / (HUNDRED + rate), exponent)
        weights = [states[i].amount for i in lines]
        for i, share in zip(lines, allocate(vat, weights, exponent=exponent), strict=True):
            line_vat[i] = share
        rows.append(VatRow(rate=rate, net=gross - vat, vat=vat, gross=gross))
    return tuple(rows), line_vat


def _start(lines: Sequence[LineInput], exponent: int) -> list[_LineState]:
    keys = [line.key for line in lines]
    if len(set(keys)) != len(keys):
        raise ValueError("line keys must be unique")
    states = []
    for line in lines:
        unit = line.unit_price.quantize(quantum(exponent))
        if unit != line.unit_price:
            raise ValueError(f"line {line.key!r}: unit price finer than 10**-{exponent}")
        states.append(_LineState(line, unit, unit * line.quantity))
    return states


def _line_result(state: _LineState, vat: Decimal, exponent: int) -> LineResult:
    line = state.line
    list_unit = line.unit_price.quantize(quantum(exponent))
    subtotal = list_unit * line.quantity
    return LineResult(
        key=line.key,
        quantity=line.quantity,
        list_unit_price=list_unit,
        unit_price=state.unit_price,
        subtotal=subtotal,
        discounts=tuple(state.discounts),
        discount_amount=subtotal - state.amount,
        total=state.amount,
        vat_rate=line.vat_rate,
        vat_amount=vat,
        net_amount=state.amount - vat,
    )


def price(
    lines: Sequence[LineInput],
    offers: Sequence[Offer],
    manual: Sequence[ManualDiscount] = (),
    *,
    exponent: int = 2,
) -> Pricing:
    """Price ``lines`` with ``offers`` and ``manual`` discounts (docs/pricing.md)."""
    states = _States(_start(lines, exponent))
    book = _Book()
    for stage in STAGES:
        _run_stage(stage, offers, states, book, exponent)
    _apply_manual(manual, states, exponent)
    rows, line_vat = _vat(states, exponent)
    results = tuple(
        _line_result(state, vat, exponent) for state, vat in zip(states, line_vat, strict=True)
    )
    zero = Decimal(0) * quantum(exponent)
    refused = {code: why for code, why in book.refused.items() if code not in book.used_codes}
    return Pricing(
        lines=results,
        subtotal=sum((line.subtotal for line in results), zero),
        discount_amount=sum((line.discount_amount for line in results), zero),
        total=sum((line.total for line in results), zero),
        vat=rows,
        applied=tuple(book.applied),
        refused=refused,
    )
