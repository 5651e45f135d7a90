"""Store credit is a ledger: the balance is the sum of append-only rows per customer and
currency, a spend never takes more than the balance (also under real concurrency), and
the database itself refuses to edit or delete a row."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from loyalty.exceptions import (
    StoreCreditAmountInvalid,
    StoreCreditInsufficient,
    StoreCreditKeyReused,
    StoreCreditReasonInvalid,
)
from loyalty.models import StoreCreditEntry
from loyalty.services.store_credit import store_credit_add, store_credit_balance, store_credit_spend
from tests.factories import CustomerFactory, UserFactory

D = Decimal


@pytest.fixture
def camille(db):
    return CustomerFactory()


def test_the_balance_is_the_sum_of_the_ledger_per_customer_and_currency(camille):
    other = CustomerFactory()
    clerk = UserFactory()
    store_credit_add(
        customer=camille, amount=D("40"), currency="EUR", reason="return", reference="R1"
    )
    store_credit_add(customer=camille, amount=D("5.5"), currency="eur", reason="adjustment")
    store_credit_add(customer=camille, amount=D("9"), currency="USD", reason="refund")
    store_credit_add(customer=other, amount=D("100"), currency="EUR", reason="refund")

    spent = store_credit_spend(
        customer=camille, amount=D("12.25"), currency="EUR", reference="UC000001", user=clerk
    )

    assert (spent.amount, spent.currency, spent.reason, spent.reference, spent.created_by) == (
        D("-12.25"),
        "EUR",
        "purchase",
        "UC000001",
        clerk,
    )
    assert store_credit_balance(customer=camille, currency="EUR") == D("33.25")
    assert store_credit_balance(customer=camille, currency="USD") == D("9.00")
    assert store_credit_balance(customer=other, currency="EUR") == D("100.00")
    assert store_credit_balance(customer=CustomerFactory(), currency="EUR") == D("0.00")
    assert list(
        StoreCreditEntry.objects.filter(customer=camille, currency="EUR")
        .order_by("id")
        .values_list("reason", "amount")
    ) == [("return", D("40.00")), ("adjustment", D("5.50")), ("purchase", D("-12.25"))]


def test_spending_more_than_the_balance_is_refused_and_writes_nothing(camille):
    store_credit_add(customer=camille, amount=D("20"), currency="EUR", reason="refund")

    with pytest.raises(StoreCreditInsufficient) as error:
        store_credit_spend(customer=camille, amount=D("20.01"), currency="EUR")

    assert (error.value.code, error.value.http_status) == ("store_credit_insufficient", 409)
    assert error.value.details == {"amount": "20.01", "balance": "20.00", "currency": "EUR"}
    assert StoreCreditEntry.objects.count() == 1
    assert store_credit_balance(customer=camille, currency="EUR") == D("20.00")
    # Credit in another currency does not count.
    store_credit_add(customer=camille, amount=D("50"), currency="USD", reason="refund")
    with pytest.raises(StoreCreditInsufficient):
        store_credit_spend(customer=camille, amount=D("21"), currency="EUR")


@pytest.mark.parametrize("amount", [D("0"), D("-5"), D("0.001"), D("NaN")])
def test_amounts_of_zero_or_less_are_refused(camille, amount):
    with pytest.raises(StoreCreditAmountInvalid):
        store_credit_add(customer=camille, amount=amount, currency="EUR", reason="refund")
    with pytest.raises(StoreCreditAmountInvalid):
        store_credit_spend(customer=camille, amount=amount, currency="EUR")
    assert not StoreCreditEntry.objects.exists()


def test_a_reason_of_the_wrong_direction_is_refused(camille):
    with pytest.raises(StoreCreditReasonInvalid):
        store_credit_add(customer=camille, amount=D("5"), currency="EUR", reason="purchase")
    with pytest.raises(StoreCreditReasonInvalid):
        store_credit_spend(customer=camille, amount=D("5"), currency="EUR", reason="refund")
    assert not StoreCreditEntry.objects.exists()


def test_the_same_key_answers_the_same_row_and_never_moves_credit_twice(camille):
    store_credit_add(customer=camille, amount=D("30"), currency="EUR", reason="refund")

    first = store_credit_spend(
        customer=camille, amount=D("10"), currency="EUR", idempotency_key="k"
    )
    again = store_credit_spend(
        customer=camille, amount=D("10"), currency="EUR", idempotency_key="k"
    )

    assert first.pk == again.pk
    assert store_credit_balance(customer=camille, currency="EUR") == D("20.00")
    with pytest.raises(StoreCreditKeyReused):
        store_credit_spend(customer=camille, amount=D("11"), currency="EUR", idempotency_key="k")
    assert StoreCreditEntry.objects.count() == 2


def test_the_database_refuses_to_update_or_delete_ledger_rows(camille):
    entry = store_credit_add(customer=camille, amount=D("15"), currency="EUR", reason="refund")

    for sql in (
        "UPDATE loyalty_storecreditentry SET amount = 999 WHERE id = %s",
        "DELETE FROM loyalty_storecreditentry WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.amount == D("15.00")


def test_the_database_refuses_a_sign_against_the_reason(camille):
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditEntry.objects.create(
            customer=camille, amount=D("5"), currency="EUR", reason="purchase"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditEntry.objects.create(
            customer=camille, amount=D("-5"), currency="EUR", reason="return"
        )
    assert not StoreCreditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_spends_never_take_the_balance_below_zero():
    """Four tills spend 30 of a 100 balance at the same moment, on real threads and
    connections: three pass, one is refused, the balance ends at 10."""
    customer = CustomerFactory()
    store_credit_add(customer=customer, amount=D("100"), currency="EUR", reason="refund")
    barrier = threading.Barrier(4)
    results: list[str] = []
    lock = threading.Lock()

    def spend(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            store_credit_spend(
                customer=customer, amount=D("30"), currency="EUR", reference=f"till-{index}"
            )
            outcome = "spent"
        except StoreCreditInsufficient:
            outcome = "refused"
        finally:
            close_old_connections()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["refused", "spent", "spent", "spent"]
    assert store_credit_balance(customer=customer, currency="EUR") == D("10.00")
    assert StoreCreditEntry.objects.filter(reason="purchase").count() == 3
