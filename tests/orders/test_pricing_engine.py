"""The pricing engine on worked examples, one per rule of docs/pricing.md. Pure Python:
no database, every amount checked to the cent."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from orders.pricing.engine import (
    AppliedDiscount,
    AppliedOffer,
    LineInput,
    ManualDiscount,
    Offer,
    VatRow,
    price,
)

D = Decimal


def line(key, unit_price, quantity=1, *, product=None, variant=None, categories=(), **kw):
    return LineInput(
        key=key,
        variant_id=variant if variant is not None else key * 10,
        product_id=product if product is not None else key * 100,
        category_ids=frozenset(categories),
        quantity=quantity,
        unit_price=D(unit_price),
        vat_rate=D(kw.pop("vat", "20.0")),
        **kw,
    )


def offer(id, stage, reward, value="0", **kw):
    for name in ("product_ids", "category_ids", "variant_ids"):
        if name in kw:
            kw[name] = frozenset(kw[name])
    if kw.get("min_subtotal") is not None:
        kw["min_subtotal"] = D(kw["min_subtotal"])
    return Offer(id=id, label=kw.pop("label", f"offer {id}"), stage=stage, reward=reward,
                 value=D(value), **kw)  # fmt: skip


def totals(pricing):
    return [line.total for line in pricing.lines]


# Rule 1 and 3: stages in order, a percent applies to what earlier stages left.


def test_a_percent_voucher_after_a_catalogue_promotion_takes_its_percent_of_the_promoted_price():
    """Saleor's bug: the voucher took 10 % of the list price (10.00) on top of the promo."""
    pricing = price(
        [line(1, "100.00")],
        [
            offer(1, "catalogue", "percent", "20", label="Soldes"),
            offer(2, "line", "percent", "10", code="DIX", label="Dix"),
        ],
    )
    (result,) = pricing.lines
    assert result.unit_price == D("80.00")
    assert result.discounts == (
        AppliedDiscount("promotion", 1, "catalogue", "Soldes", D("20.00")),
        AppliedDiscount("voucher", 2, "line", "Dix", D("8.00"), code="DIX"),
    )
    assert (result.discount_amount, result.total) == (D("28.00"), D("72.00"))
    assert pricing.applied == (
        AppliedOffer(1, None, "Soldes", D("20.00")),
        AppliedOffer(2, "DIX", "Dix", D("8.00")),
    )
    assert pricing.refused == {}


def test_a_catalogue_promotion_changes_the_unit_price_rounded_per_unit():
    # 10 % of 0.05 is 0.005 -> 0.01 off each unit: 10 units at 0.04 = 0.40 (a line-level
    # 10 % would have taken 0.05 off 0.50 and left 0.45).
    pricing = price([line(1, "0.05", 10)], [offer(1, "catalogue", "percent", "10")])
    assert pricing.lines[0].unit_price == D("0.04")
    assert pricing.lines[0].list_unit_price == D("0.05")
    assert pricing.total == D("0.40")


def test_the_order_stage_minimum_is_checked_on_the_subtotal_after_the_line_stage():
    lines = [line(1, "60.00"), line(2, "40.00")]
    line_promo = offer(1, "line", "percent", "50", product_ids={100})
    order_voucher = offer(2, "order", "amount", "10", min_subtotal="80.00", code="MIN80")
    pricing = price(lines, [line_promo, order_voucher])
    # 60 -> 30 at the line stage: 70 < 80, so the voucher gives nothing.
    assert pricing.total == D("70.00")
    assert pricing.refused == {"MIN80": "below_minimum"}
    assert pricing.refused["MIN80"].minimum == D("80.00")

    without_promo = price(lines, [order_voucher])
    assert without_promo.total == D("90.00")
    assert without_promo.refused == {}


def test_the_minimum_counts_only_the_eligible_lines():
    lines = [line(1, "30.00", categories={7}), line(2, "100.00", categories={8})]
    voucher = offer(1, "line", "percent", "10", category_ids={7}, min_subtotal="50", code="C7")
    pricing = price(lines, [voucher])
    assert pricing.refused == {"C7": "below_minimum"}
    assert pricing.total == D("130.00")


def test_a_category_target_matches_an_ancestor_and_leaves_other_lines_alone():
    lines = [line(1, "50.00", categories={1, 2}), line(2, "50.00", categories={3})]
    pricing = price(lines, [offer(1, "line", "percent", "10", category_ids={1})])
    assert totals(pricing) == [D("45.00"), D("50.00")]


# Rule 2: one exclusive offer per line per stage, chosen deterministically.


def test_the_exclusive_offer_that_gives_most_wins_and_the_order_of_the_offers_does_not_matter():
    lines = [line(1, "100.00")]
    offers = [
        offer(1, "line", "percent", "10"),
        offer(2, "line", "amount", "15"),
        offer(3, "line", "amount", "12", priority=5),
    ]
    forward, backward = price(lines, offers), price(lines, list(reversed(offers)))
    assert forward == backward
    assert forward.total == D("85.00")
    assert [applied.offer_id for applied in forward.applied] == [2]


def test_equal_discounts_go_to_the_higher_priority_then_the_lower_id():
    lines = [line(1, "100.00")]
    high = offer(5, "line", "amount", "10", priority=2)
    low_id = offer(3, "line", "amount", "10")
    high_id = offer(4, "line", "amount", "10")
    assert price(lines, [low_id, high_id, high]).applied[0].offer_id == 5
    assert price(lines, [high_id, low_id]).applied[0].offer_id == 3


def test_a_later_exclusive_offer_takes_only_the_lines_left_to_it():
    lines = [line(1, "100.00"), line(2, "50.00")]
    half_off_first = offer(1, "line", "percent", "50", product_ids={100})  # 50 alone
    ten_off_all = offer(2, "line", "percent", "10")  # 15 alone, then 5 on line 2 only
    pricing = price(lines, [ten_off_all, half_off_first])
    assert totals(pricing) == [D("50.00"), D("45.00")]
    assert [(a.offer_id, a.amount) for a in pricing.applied] == [(1, D("50.00")), (2, D("5.00"))]


def test_a_stackable_offer_applies_on_top_on_the_current_amount():
    lines = [line(1, "100.00")]
    offers = [
        offer(1, "line", "percent", "10"),
        offer(2, "line", "percent", "10", stackable=True, code="PLUS"),
        offer(3, "line", "amount", "5", stackable=True, priority=1),
    ]
    pricing = price(lines, offers)
    # exclusive 10 % (100 -> 90), then stackables by priority: 5.00 (-> 85), 10 % (-> 76.50)
    assert [(a.offer_id, a.amount) for a in pricing.applied] == [
        (1, D("10.00")),
        (3, D("5.00")),
        (2, D("8.50")),
    ]
    assert pricing.total == D("76.50")


def test_an_exclusive_voucher_beaten_on_its_lines_is_refused_as_not_stackable():
    lines = [line(1, "100.00")]
    pricing = price(
        lines, [offer(1, "line", "percent", "20"), offer(2, "line", "percent", "10", code="V")]
    )
    assert pricing.total == D("80.00")
    assert pricing.refused == {"V": "not_stackable"}


def test_offers_of_different_stages_both_apply():
    pricing = price(
        [line(1, "100.00")],
        [offer(1, "line", "percent", "10"), offer(2, "order", "percent", "10", code="O")],
    )
    assert pricing.total == D("81.00")


# Rule 3: bxgy and free items.


def test_three_for_two_gives_the_cheapest_unit_of_each_group_of_three():
    lines = [line(1, "10.00", 2), line(2, "6.00"), line(3, "4.00")]
    pricing = price(lines, [offer(1, "line", "bxgy", "100", buy_quantity=2, get_quantity=1)])
    # units 10, 10, 6 | 4: one full group, its cheapest (6.00) free; the 4.00 is left over.
    assert totals(pricing) == [D("20.00"), D("0.00"), D("4.00")]
    assert pricing.discount_amount == D("6.00")


def test_three_for_two_on_one_line_of_six_units():
    pricing = price(
        [line(1, "9.99", 6)], [offer(1, "line", "bxgy", "100", buy_quantity=2, get_quantity=1)]
    )
    assert pricing.discount_amount == D("19.98")
    assert pricing.total == D("39.96")


def test_buy_one_get_one_half_price_with_too_few_units_gives_nothing():
    bogo = offer(1, "line", "bxgy", "50", buy_quantity=1, get_quantity=1, code="BOGO")
    assert price([line(1, "10.00", 2)], [bogo]).total == D("15.00")
    alone = price([line(1, "10.00", 1)], [bogo])
    assert alone.total == D("10.00")
    assert alone.refused == {"BOGO": "no_eligible_line"}


def test_a_free_item_when_the_rest_of_the_basket_reaches_the_threshold():
    gift = offer(1, "order", "free_item", free_variant_id=20, min_subtotal="50", code="TOTE")
    basket = [line(1, "50.00"), line(2, "8.00", 2)]  # variant 20: the tote bag, 2 in the cart
    pricing = price(basket, [gift])
    assert totals(pricing) == [D("50.00"), D("8.00")]
    assert pricing.lines[1].discounts[0].amount == D("8.00")
    assert pricing.refused == {}

    short = price([line(1, "49.99"), line(2, "8.00", 2)], [gift])
    assert short.total == D("65.99")
    assert short.refused == {"TOTE": "below_minimum"}

    absent = price([line(1, "50.00")], [gift])
    assert absent.refused == {"TOTE": "no_eligible_line"}


# Rule 3: amounts spread over lines to the cent.


def test_an_amount_voucher_over_three_lines_sums_exactly():
    lines = [line(1, "10.00"), line(2, "10.00"), line(3, "10.00")]
    pricing = price(lines, [offer(1, "order", "amount", "10", code="DIXE")])
    assert [line.discount_amount for line in pricing.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert pricing.total == D("20.00")


def test_an_amount_voucher_larger_than_its_lines_is_capped_and_no_line_goes_negative():
    lines = [line(1, "12.00"), line(2, "18.00")]
    pricing = price(lines, [offer(1, "line", "amount", "50", code="BIG")])
    assert totals(pricing) == [D("0.00"), D("0.00")]
    assert pricing.applied[0].amount == D("30.00")


def test_a_catalogue_amount_larger_than_the_unit_price_stops_at_zero():
    pricing = price([line(1, "15.00", 2)], [offer(1, "catalogue", "amount", "20")])
    assert pricing.lines[0].unit_price == D("0.00")
    assert pricing.total == D("0.00")


# Rule 1 (manual): line discounts first, then the basket one spread.


def test_manual_line_discount_then_basket_discount_spread_over_what_is_left():
    lines = [line(1, "100.00"), line(2, "50.00")]
    manual = [
        ManualDiscount("b", None, "amount", D("14.00"), "fidèle"),
        ManualDiscount("l", 1, "percent", D("10"), "rayure"),
    ]
    pricing = price(lines, [], manual)
    first, second = pricing.lines
    assert [d.amount for d in first.discounts] == [D("10.00"), D("9.00")]
    assert first.discounts[0] == AppliedDiscount("manual", "l", "manual", "rayure", D("10.00"))
    assert [d.amount for d in second.discounts] == [D("5.00")]
    assert pricing.total == D("126.00")


def test_a_manual_discount_on_an_unknown_or_gift_card_line_is_refused():
    lines = [line(1, "100.00"), line(2, "50.00", discountable=False)]
    with pytest.raises(ValueError, match="no line"):
        price(lines, [], [ManualDiscount("m", 9, "amount", D("1"), "x")])
    with pytest.raises(ValueError, match="not discountable"):
        price(lines, [], [ManualDiscount("m", 2, "amount", D("1"), "x")])


# Rules 4 and 5: VAT after discounts, French TTC prices.


def test_a_french_ttc_price_of_100_at_20_percent_holds_16_67_of_vat():
    pricing = price([line(1, "100.00")], [])
    assert pricing.vat == (VatRow(D("20.0"), D("83.33"), D("16.67"), D("100.00")),)
    assert (pricing.lines[0].vat_amount, pricing.lines[0].net_amount) == (D("16.67"), D("83.33"))
    # Tenders (gift cards, points, store credit, cash) are not an input of the engine,
    # so they cannot change the VAT.
    assert list(inspect.signature(price).parameters) == ["lines", "offers", "manual", "exponent"]


def test_vat_is_rounded_once_on_the_sum_of_a_rate_then_spread_over_its_lines():
    # Per line: 0.10 * 20/120 = 0.0167 -> 0.02, three times 0.06; on the sum 0.30 -> 0.05.
    lines = [line(1, "0.10"), line(2, "0.10"), line(3, "0.10"), line(4, "10.55", vat="5.5")]
    pricing = price(lines, [])
    assert pricing.vat == (
        VatRow(D("5.5"), D("10.00"), D("0.55"), D("10.55")),
        VatRow(D("20.0"), D("0.25"), D("0.05"), D("0.30")),
    )
    assert [line.vat_amount for line in pricing.lines] == [
        D("0.02"),
        D("0.02"),
        D("0.01"),
        D("0.55"),
    ]


def test_vat_is_taken_on_the_discounted_amounts():
    pricing = price([line(1, "120.00")], [offer(1, "order", "amount", "60")])
    assert pricing.vat == (VatRow(D("20.0"), D("50.00"), D("10.00"), D("60.00")),)


def test_a_100_percent_order_discount_leaves_0_00_and_no_vat():
    lines = [line(1, "33.33", 3), line(2, "0.01", vat="5.5")]
    pricing = price(lines, [offer(1, "order", "percent", "100", code="FREE")])
    assert totals(pricing) == [D("0.00"), D("0.00")]
    assert [line.vat_amount for line in pricing.lines] == [D("0.00"), D("0.00")]
    assert pricing.total == D("0.00")
    assert pricing.discount_amount == pricing.subtotal == D("100.00")
    assert all(row.vat == D("0.00") and row.gross == D("0.00") for row in pricing.vat)


# Rule 6: gift cards are never discounted and never count towards a threshold.


def test_an_undiscountable_line_is_untouched_out_of_thresholds_but_in_totals_and_vat():
    lines = [line(1, "40.00"), line(2, "50.00", vat="0", discountable=False)]
    offers = [
        offer(1, "order", "percent", "50"),
        offer(2, "order", "amount", "5", stackable=True, min_subtotal="60", code="S60"),
    ]
    pricing = price(lines, offers)
    assert totals(pricing) == [D("20.00"), D("50.00")]
    assert pricing.lines[1].discounts == ()
    assert pricing.refused == {"S60": "below_minimum"}
    assert pricing.total == D("70.00")
    assert [row.gross for row in pricing.vat] == [D("50.00"), D("20.00")]


# Refusals.


def test_a_voucher_with_no_eligible_line_is_refused_and_an_applied_one_is_not():
    lines = [line(1, "40.00", product=1)]
    pricing = price(
        lines,
        [
            offer(1, "line", "percent", "10", product_ids={2}, code="OTHER"),
            offer(2, "line", "percent", "10", product_ids={1}, code="MINE"),
        ],
    )
    assert pricing.refused == {"OTHER": "no_eligible_line"}
    assert [applied.code for applied in pricing.applied] == ["MINE"]


def test_a_promotion_that_gives_nothing_is_neither_applied_nor_refused():
    pricing = price([line(1, "40.00")], [offer(1, "line", "percent", "10", product_ids={9})])
    assert pricing.applied == ()
    assert pricing.refused == {}
    assert pricing.total == D("40.00")


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="out of range"):
        offer(1, "line", "percent", "120")
    with pytest.raises(ValueError, match="a catalogue offer is a percent or an amount"):
        offer(1, "catalogue", "bxgy", "100", buy_quantity=2, get_quantity=1)
    with pytest.raises(ValueError, match="bxgy needs buy and get"):
        offer(1, "line", "bxgy", "100")
    with pytest.raises(ValueError, match="quantity must be >= 1"):
        line(1, "1.00", 0)
    with pytest.raises(ValueError, match="finer"):
        price([line(1, "1.005")], [])
    with pytest.raises(ValueError, match="unique"):
        price([line(1, "1.00"), line(1, "2.00")], [])


def test_a_currency_without_cents_prices_to_the_unit():
    lines = [line(1, "1000", 3, vat="10"), line(2, "999", vat="10")]
    pricing = price(lines, [offer(1, "order", "amount", "1000")], exponent=0)
    assert [line.discount_amount for line in pricing.lines] == [D("750"), D("250")]
    assert pricing.vat == (VatRow(D("10"), D("2726"), D("273"), D("2999")),)
