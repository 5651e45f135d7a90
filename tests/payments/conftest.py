"""Fixtures for the payments tests: orders to pay, a clean simulated gateway, a store
credit ledger standing in for the loyalty app's gateway, and the fake Stripe server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from orders.models import Order
from payments.gateways import (
    Declined,
    Gateway,
    GatewayResult,
    gateway_register,
    gateway_unregister,
    simulated,
)
from tests.factories import SalesChannelFactory
from tests.payments.fake_stripe import FakeStripe


@pytest.fixture(autouse=True)
def clean_simulated_gateway() -> Iterator[None]:
    simulated.reset()
    yield
    simulated.reset()


@pytest.fixture
def make_order(db) -> Callable[..., Order]:
    def make(total: str = "100.00", currency: str = "EUR", **fields) -> Order:
        channel = fields.pop("channel", None) or SalesChannelFactory(code="web", name="Web")
        return Order.objects.create(
            channel=channel,
            status=Order.Status.PLACED,
            currency=currency,
            total_amount=Decimal(total),
            **fields,
        )

    return make


class StoreCreditLedger(Gateway):
    """The seam loyalty fills: a gateway over a store-credit balance (kept in memory here,
    keyed by the customer's credit token). Redeeming more than the balance is declined."""

    code = "store_credit"
    remote = False
    balances: dict[str, Decimal] = {}
    references: dict[str, str] = {}

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        balance = self.balances.get(token, Decimal(0))
        if amount > balance:
            raise Declined("insufficient_credit", "Not enough store credit.")
        self.balances[token] = balance - amount
        reference = f"credit-{idempotency_key}"
        self.references[reference] = token
        return GatewayResult("succeeded", reference, amount, currency)

    def refund(self, *, reference, amount, currency, idempotency_key):
        token = self.references[reference]
        self.balances[token] = self.balances.get(token, Decimal(0)) + amount
        return GatewayResult("succeeded", f"credit-refund-{idempotency_key}", amount, currency)


@pytest.fixture
def store_credit() -> Iterator[type[StoreCreditLedger]]:
    StoreCreditLedger.balances = {"credit-camille": Decimal("30.00")}
    StoreCreditLedger.references = {}
    gateway_register("store_credit", StoreCreditLedger)
    yield StoreCreditLedger
    gateway_unregister("store_credit")
    from payments.registry import payments_strategies_register

    payments_strategies_register()  # the real one (loyalty's ledger) again for the next tests


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_SECRET_KEY = fake.secret_key
    settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
    settings.STRIPE_TIMEOUT_SECONDS = 5.0
    yield fake
    fake.stop()
