"""Properties of the allocation and of the pricing engine on generated baskets and offers
(Hypothesis). Pure Python: no database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.pricing.allocation import allocate, share_of_units
from orders.pricing.engine import LineInput, ManualDiscount, Offer, price

CENT = Decimal("0.01")
RATES = [Decimal("0"), Decimal("2.1"), Decimal("5.5"), Decimal("10"), Decimal("20.0")]
SOME = settings(max_examples=200, deadline=None)


def cents(low: int = 0, high: int = 100_000) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda units: Decimal(units) * CENT)


# allocate


@SOME
@given(amount=cents(0, 2_000_000), weights=st.lists(cents(), max_size=12))
def test_allocate_sums_exactly_and_never_exceeds_a_weight(amount, weights):
    shares = allocate(amount, weights)
    assert len(shares) == len(weights)
    assert sum(shares, Decimal(0)) == min(amount, sum(weights, Decimal(0)))
    assert all(Decimal(0) <= share <= weight for share, weight in zip(shares, weights, strict=True))
    assert all(share == share.quantize(CENT) for share in shares)


@SOME
@given(amount=cents(0, 2_000_000), weights=st.lists(cents(), min_size=1, max_size=12))
def test_allocate_is_proportional_within_one_cent(amount, weights):
    total = sum(weights, Decimal(0))
    shares = allocate(amount, weights)
    target = min(amount, total)
    for share, weight in zip(shares, weights, strict=True):
        exact = target * weight / total if total else Decimal(0)
        assert abs(share - exact) < CENT


@SOME
@given(
    total=cents(0, 100_000),
    quantity=st.integers(1, 12),
    data=st.data(),
)
def test_partial_returns_refund_exactly_what_was_paid(total, quantity, data):
    returned, refunded, refunds = 0, Decimal(0), []
    while returned < quantity:
        units = data.draw(st.integers(1, quantity - returned))
        refund = share_of_units(total, quantity, units, returned, refunded)
        assert Decimal(0) <= refund <= total - refunded
        refunds.append(refund)
        returned, refunded = returned + units, refunded + refund
    assert sum(refunds, Decimal(0)) == total


# price()

PRODUCTS = st.integers(1, 4)


@st.composite
def baskets(draw):
    size = draw(st.integers(1, 6))
    return [
        LineInput(
            key=key,
            variant_id=draw(st.integers(1, 6)),
            product_id=draw(PRODUCTS),
            category_ids=frozenset(draw(st.sets(st.integers(1, 3), max_size=2))),
            quantity=draw(st.integers(1, 5)),
            unit_price=draw(cents(0, 20_000)),
            vat_rate=draw(st.sampled_from(RATES)),
            discountable=draw(st.booleans()),
        )
        for key in range(size)
    ]


@st.composite
def offers(draw, offer_id):
    stage = draw(st.sampled_from(["catalogue", "line", "order"]))
    rewards = (
        ["percent", "amount"]
        if stage == "catalogue"
        else ["percent", "amount", "bxgy", "free_item"]
    )
    reward = draw(st.sampled_from(rewards))
    percent = draw(st.integers(1, 100).map(Decimal))
    value = draw(cents(1, 10_000)) if reward == "amount" else percent
    return Offer(
        id=offer_id,
        label=f"offer {offer_id}",
        stage=stage,
        reward=reward,
        value=value,
        product_ids=frozenset(draw(st.sets(PRODUCTS, max_size=2))),
        category_ids=frozenset(draw(st.sets(st.integers(1, 3), max_size=1))),
        variant_ids=frozenset(draw(st.sets(st.integers(1, 6), max_size=1))),
        stackable=draw(st.booleans()),
        priority=draw(st.integers(0, 2)),
        min_subtotal=draw(st.none() | cents(0, 30_000)),
        buy_quantity=draw(st.integers(1, 3)),
        get_quantity=draw(st.integers(1, 2)),
        free_variant_id=draw(st.integers(1, 6)),
        code=draw(st.none() | st.sampled_from(["A", "B", "C"])),
    )


@st.composite
def manual_discounts(draw, lines):
    found = []
    for number in range(draw(st.integers(0, 3))):
        targets = [line.key for line in lines if line.discountable] + [None]
        kind = draw(st.sampled_from(["percent", "amount"]))
        value = (
            draw(st.integers(1, 100).map(Decimal)) if kind == "percent" else draw(cents(1, 5_000))
        )
        found.append(ManualDiscount(number, draw(st.sampled_from(targets)), kind, value, "r"))
    return found


@st.composite
def priced(draw):
    lines = draw(baskets())
    offer_list = [draw(offers(offer_id)) for offer_id in range(draw(st.integers(0, 6)))]
    manual = draw(manual_discounts(lines))
    return lines, offer_list, manual, price(lines, offer_list, manual)


@SOME
@given(priced())
def test_the_lines_add_up_to_the_totals(case):
    lines, _, _, pricing = case
    zero = Decimal(0)
    assert sum((line.discount_amount for line in pricing.lines), zero) == pricing.discount_amount
    assert pricing.subtotal - pricing.discount_amount == pricing.total
    assert sum((line.total for line in pricing.lines), zero) == pricing.total
    for given_line, result in zip(lines, pricing.lines, strict=True):
        assert result.total >= 0
        assert result.subtotal == given_line.unit_price * given_line.quantity
        assert sum((d.amount for d in result.discounts), zero) == result.discount_amount
        assert all(d.amount > 0 for d in result.discounts)
        assert result.net_amount + result.vat_amount == result.total
        if not given_line.discountable:
            assert result.discounts == ()


@SOME
@given(priced())
def test_the_vat_rows_match_the_discounted_lines(case):
    _, _, _, pricing = case
    assert [row.rate for row in pricing.vat] == sorted({line.vat_rate for line in pricing.lines})
    for row in pricing.vat:
        of_rate = [line for line in pricing.lines if line.vat_rate == row.rate]
        gross = sum((line.total for line in of_rate), Decimal(0))
        vat = (gross * row.rate / (100 + row.rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        assert (row.gross, row.vat, row.net) == (gross, vat, gross - vat)
        assert sum((line.vat_amount for line in of_rate), Decimal(0)) == row.vat
        assert all(0 <= line.vat_amount <= line.total for line in of_rate)


@SOME
@given(priced())
def test_pricing_is_deterministic_whatever_the_order_of_the_offers(case):
    lines, offer_list, manual, pricing = case
    again = price(lines, list(reversed(offer_list)), manual)
    assert again.lines == pricing.lines
    assert again.total == pricing.total


@SOME
@given(priced())
def test_100_percent_off_everything_leaves_0_00_and_no_vat_on_the_discounted_lines(case):
    lines, offer_list, manual, _ = case
    everything = Offer(99, "all", "order", "percent", Decimal(100), stackable=True)
    pricing = price(lines, [*offer_list, everything], manual)
    for given_line, result in zip(lines, pricing.lines, strict=True):
        if given_line.discountable:
            assert (result.total, result.vat_amount) == (Decimal("0.00"), Decimal("0.00"))
    assert pricing.total == sum(
        (line.unit_price * line.quantity for line in lines if not line.discountable), Decimal(0)
    )


@SOME
@given(priced())
def test_a_line_gets_at_most_one_exclusive_offer_per_stage(case):
    _, offer_list, _, pricing = case
    exclusive = {offer.id for offer in offer_list if not offer.stackable}
    for result in pricing.lines:
        for stage in ("catalogue", "line", "order"):
            ids = {
                d.source_id
                for d in result.discounts
                if d.stage == stage and d.source_id in exclusive
            }
            assert len(ids) <= 1
