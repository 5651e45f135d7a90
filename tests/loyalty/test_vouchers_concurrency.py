"""Voucher limits on real PostgreSQL connections (one per thread, each in its own
transaction like an order placement): 16 buyers of the last use get exactly one order,
whatever limit is the last one (campaign, code, customer)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from loyalty import exceptions as errors
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.services.vouchers import vouchers_release, vouchers_use
from tests.factories import CustomerFactory
from tests.loyalty.voucher_data import campaign, code
from tests.orders.test_checkout_concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = 16
TEN = Decimal("10.00")


def place(voucher: VoucherCode, customer, reference: str):
    """What an order placement does with its vouchers: in its own transaction."""
    with transaction.atomic():
        return vouchers_use(uses=[(voucher, TEN)], customer=customer, reference=reference)


def buyers(voucher: VoucherCode, customers: list) -> list:
    return run_concurrently(
        BUYERS, lambda i: place(voucher, customers[i % len(customers)], f"UC{i}")
    )


def won(outcomes: list) -> list:
    return [o for o in outcomes if isinstance(o, list)]


def test_16_buyers_of_a_campaigns_last_use_make_one_order():
    voucher = code(campaign(usage_limit=5), max_uses=None)
    Promotion.objects.filter(pk=voucher.promotion_id).update(used_count=4)

    outcomes = buyers(voucher, [CustomerFactory() for _ in range(BUYERS)])

    assert len(won(outcomes)) == 1, outcomes
    assert all(isinstance(o, errors.VoucherExhausted) for o in outcomes if o not in won(outcomes))
    assert Promotion.objects.get(pk=voucher.promotion_id).used_count == 5
    assert VoucherRedemption.objects.count() == 1


def test_16_buyers_of_a_codes_last_use_make_one_order():
    voucher = code(campaign(), max_uses=1)

    outcomes = buyers(voucher, [None])

    assert len(won(outcomes)) == 1, outcomes
    refused = [o for o in outcomes if isinstance(o, errors.VoucherExhausted)]
    assert len(refused) == BUYERS - 1
    assert {o.details["scope"] for o in refused} == {"code"}
    assert VoucherCode.objects.get(pk=voucher.pk).used_count == 1
    assert Promotion.objects.get(pk=voucher.promotion_id).used_count == 1


def test_one_customer_at_16_tills_with_one_use_per_customer_makes_one_order():
    voucher = code(campaign(per_customer_limit=1))
    camille = CustomerFactory()

    outcomes = buyers(voucher, [camille])

    assert len(won(outcomes)) == 1, outcomes
    assert sum(isinstance(o, errors.VoucherCustomerLimit) for o in outcomes) == BUYERS - 1
    assert VoucherRedemption.objects.filter(customer=camille).count() == 1
    assert Promotion.objects.get(pk=voucher.promotion_id).used_count == 1


def test_uses_and_releases_racing_on_shared_codes_never_deadlock_and_counters_match():
    promotion = campaign(usage_limit=100)
    shared = [code(promotion, f"SHARED{i}2") for i in range(2)]
    for index in range(8):
        vouchers_use(uses=[(s, TEN) for s in shared], customer=None, reference=f"OLD{index}")

    def work(index: int):
        with transaction.atomic():
            if index % 2:
                return vouchers_release(reference=f"OLD{index // 2}")
            ordered = shared if index % 4 else list(reversed(shared))
            return vouchers_use(
                uses=[(s, TEN) for s in ordered], customer=None, reference=f"NEW{index}"
            )

    outcomes = run_concurrently(BUYERS, work)

    assert all(isinstance(o, list) for o in outcomes), outcomes
    live = VoucherRedemption.objects.filter(released_at__isnull=True)
    assert Promotion.objects.get(pk=promotion.pk).used_count == live.count() == 16
    for voucher in shared:
        assert (
            VoucherCode.objects.get(pk=voucher.pk).used_count == live.filter(code=voucher).count()
        )
