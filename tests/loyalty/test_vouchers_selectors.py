"""promotions_active: which promotions may price a cart, with their targets, in one
query whatever their number."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.models import Promotion
from loyalty.selectors import promotions_active
from tests.factories import LocationFactory, SalesChannelFactory, VariantFactory
from tests.loyalty.voucher_data import campaign, code

pytestmark = pytest.mark.django_db


def automatic(name: str, **fields) -> Promotion:
    return campaign(name=name, requires_code=False, **fields)


def names(**arguments) -> list[str]:
    values = {"channel_id": None, "location_id": None, "segment": None, "now": timezone.now()}
    values.update(arguments)
    return [promotion.name for promotion in promotions_active(**values)]


def test_automatic_promotions_and_the_campaigns_of_the_codes_entered_are_active():
    automatic("Sale", priority=5)
    automatic("Winter")
    entered = campaign(name="Entered")
    code(entered, "NOEL2345")
    code(campaign(name="Not entered"), "OTHER234")
    code(campaign(name="Code off"), "OFF23456", is_active=False)
    automatic("Stopped", is_active=False)

    assert names(codes=["noel-2345", "OFF23456", "UNKNOWN2"]) == ["Sale", "Winter", "Entered"]
    assert names() == ["Sale", "Winter"]


def test_the_window_is_start_inclusive_and_end_exclusive():
    now = timezone.now()
    automatic("Running", starts_at=now, ends_at=now + timedelta(days=1))
    automatic("Ended", ends_at=now)
    automatic("Coming", starts_at=now + timedelta(seconds=1))

    assert names(now=now) == ["Running"]


def test_channel_store_and_segment_scopes_are_respected():
    web, app = SalesChannelFactory(code="web"), SalesChannelFactory(code="app")
    paris, lyon = LocationFactory(code="paris"), LocationFactory(code="lyon")
    automatic("Everywhere")
    automatic("Web only").channels.set([web])
    automatic("Paris tills").locations.set([paris])
    automatic("Champions", segments=["champions"])

    assert names(channel_id=web.pk) == ["Everywhere", "Web only"]
    assert names(channel_id=app.pk, location_id=paris.pk) == ["Everywhere", "Paris tills"]
    assert names(channel_id=app.pk, location_id=lyon.pk) == ["Everywhere"]
    assert names(channel_id=app.pk, segment="champions") == ["Everywhere", "Champions"]
    assert names(channel_id=app.pk, segment="") == ["Everywhere"]


def test_each_promotion_carries_its_targets_scopes_and_entered_codes():
    web = SalesChannelFactory(code="web")
    a, b = VariantFactory(), VariantFactory()
    promotion = campaign(
        name="Two", reward="bxgy", value=Decimal("100"), buy_quantity=2, get_quantity=1
    )
    promotion.variants.set([b, a])
    promotion.products.set([a.product])
    promotion.channels.set([web])
    code(promotion, "BBBB2345")
    code(promotion, "AAAA2345")

    [row] = promotions_active(
        channel_id=web.pk,
        location_id=None,
        segment=None,
        codes=["AAAA2345", "BBBB2345"],
        now=timezone.now(),
    )

    assert row.variant_ids == sorted([a.pk, b.pk])
    assert row.product_ids == [a.product_id]
    assert (row.category_ids, row.location_ids, row.channel_ids) == ([], [], [web.pk])
    assert row.codes_entered == ["AAAA2345", "BBBB2345"]


@pytest.mark.parametrize("count", [2, 40])
def test_one_query_whatever_the_number_of_promotions(count, django_assert_num_queries):
    variant = VariantFactory()
    for index in range(count):
        promotion = automatic(f"P{index}")
        promotion.variants.set([variant])
        promotion.products.set([variant.product])
        voucher = campaign(name=f"V{index}")
        code(voucher, f"CODE{index:04d}")

    with django_assert_num_queries(1):
        rows = promotions_active(
            channel_id=None,
            location_id=None,
            segment=None,
            codes=[f"CODE{index:04d}" for index in range(count)],
            now=timezone.now(),
        )
        assert all(row.variant_ids == [variant.pk] for row in rows if row.name.startswith("P"))

    assert len(rows) == 2 * count
