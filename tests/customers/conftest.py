"""Fixtures for the customer tests: customers, and orders, carts and returns built with
the ORM (the order services are another area's; these tests need rows, not flows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from orders.models import Cart, CartLine, Order, OrderLine, Return, ReturnLine
from tests.factories import VariantFactory


@pytest.fixture
def make_customer(db) -> Callable[..., Customer]:
    counter = iter(range(1, 10_000))

    def make(**fields) -> Customer:
        n = next(counter)
        if "email" not in fields and "phone" not in fields:
            fields["email"] = f"person{n}@example.com"
        fields.setdefault("first_name", "Camille")
        fields.setdefault("last_name", f"Durand{n}")
        return Customer.objects.create(**fields)

    return make


@pytest.fixture
def make_order(shop) -> Callable[..., Order]:
    """An order of ``total`` for ``customer`` on ``channel`` (default: the web), placed
    ``days_ago`` days ago, with one line at the store."""

    def make(
        customer,
        total: str = "50.00",
        *,
        channel=None,
        origin_channel=None,
        days_ago: float = 1,
        status: str = Order.Status.FULFILLED,
        **fields,
    ) -> Order:
        variant = VariantFactory()
        order = Order.objects.create(
            customer=customer,
            channel=channel or shop.web,
            origin_channel=origin_channel,
            status=status,
            currency="EUR",
            total_amount=Decimal(total),
            email=customer.email or "" if customer else "",
            phone=customer.phone or "" if customer else "",
            **fields,
        )
        Order.objects.filter(pk=order.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )
        order.refresh_from_db()
        OrderLine.objects.create(
            order=order,
            variant=variant,
            sku=variant.sku,
            name=variant.product.name,
            quantity=1,
            unit_price_amount=Decimal(total),
            vat_rate=Decimal("20.0"),
            total_amount=Decimal(total),
            fulfilment="ship",
            location=shop.store,
        )
        return order

    return make


@pytest.fixture
def make_return(shop) -> Callable[..., Return]:
    def make(order: Order, amount: str, *, channel=None) -> Return:
        ret = Return.objects.create(
            order=order,
            channel=channel or shop.store_channel,
            outcome=Return.Outcome.REFUND,
            amount=Decimal(amount),
            currency="EUR",
        )
        ReturnLine.objects.create(
            ret=ret,
            order_line=order.lines.first(),
            quantity=1,
            reason=ReturnLine.Reason.WRONG_SIZE,
            restock_location=shop.store,
            amount=Decimal(amount),
        )
        return ret

    return make


@pytest.fixture
def make_cart(shop) -> Callable[..., Cart]:
    def make(customer, *lines, channel=None, **fields) -> Cart:
        cart = Cart.objects.create(
            channel=channel or shop.web,
            customer=customer,
            expires_at=fields.pop("expires_at", timezone.now() + timedelta(days=30)),
            **fields,
        )
        for variant, quantity in lines:
            CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)
        return cart

    return make


@pytest.fixture
def channel_api(shop):
    """The web store's front end, with its channel key."""
    from rest_framework.test import APIClient

    from unicommerce.channels.services import api_key_create

    _, raw_key = api_key_create(channel=shop.web, name="front end")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def customer_api(shop):
    """A client signed in as ``customer`` on the web channel (through the services)."""
    from rest_framework.test import APIClient

    from customers.auth import login_code_exchange, login_code_send

    def make(customer) -> APIClient:
        identity = {"email": customer.email} if customer.email else {"phone": customer.phone}
        sent = login_code_send(channel=shop.web, **identity)
        _, raw = login_code_exchange(channel=shop.web, code=sent.code, **identity)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Customer {raw}", HTTP_ACCEPT_LANGUAGE="en")
        return client

    return make
