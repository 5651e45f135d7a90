"""Every operation of the OpenAPI schema, fuzzed by schemathesis in-process (the WSGI app,
no server), once per kind of caller: no answer is a 5xx, and every answer is one the
schema documents (its status code, content type and body).

The callers are one list, ``PRINCIPALS``, with valid credentials of every principal of
the permission table: anonymous, a publishable (storefront) and a secret (integration)
channel key, a signed-in customer, a seller of one store and head office. A new kind of
key, token or role is one more entry.

Each operation gets a few derandomized examples (the same requests on every run) in both
of schemathesis's modes, valid requests and requests the schema says are invalid (which
must be refused with a 4xx); half of them aim at objects that exist (``World``: a cart,
an order, a shipment, a reservation…), so they get past "not found" into the views. Each
operation runs in a savepoint rolled back after it, so none sees another's writes. The
failures of every operation are collected and reported together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.models import Publication
from customers.auth import login_code_exchange, login_code_send
from customers.models import Customer
from customers.services.profile import address_add
from inventory.services.reservations import stock_reserve
from inventory.services.transfers import transfer_create
from orders.models import Fulfilment, Shipment
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from tests.conftest import Shop
from tests.factories import UserFactory
from unicommerce.channels.services import api_key_create
from unicommerce.webhooks.models import WebhookEndpoint

SCHEMA_PATH = "/api/v1/schema/?format=json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A few examples per operation, caller and mode keep the module to about two minutes on
# one core (six callers, two modes); derandomized so a failure comes back on the next run.
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=7,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
REPORT_LINES = 30  # of each failing operation's report


# --- what exists ------------------------------------------------------------------------


@dataclass
class World:
    """Objects for the fuzzed requests to find, and the path parameters naming them, by
    the start of the path templates they fill."""

    shop: Shop
    customer: Customer
    path_parameters: dict[str, dict[str, object]] = field(default_factory=dict)

    def parameters_for(self, path: str) -> dict[str, object] | None:
        for prefix, parameters in self.path_parameters.items():
            if path.startswith(prefix):
                return parameters
        return None


@pytest.fixture
def world(shop, stocked_variant) -> World:
    variant = stocked_variant(store=20, warehouse=20, sku="FUZZ-1")
    for channel in (shop.web, shop.store_channel):
        Publication.objects.create(product=variant.product, channel=channel)
    customer = Customer.objects.create(
        email="fuzz@example.com", phone="+33612345678", first_name="Camille", last_name="Fuzz"
    )
    address = address_add(
        customer=customer, line1="3 rue de la Paix", postal_code="75002", city="Paris"
    )

    cart = cart_create(channel=shop.web, customer=customer)
    line = cart_line_add(cart=cart, variant=variant, quantity=1, channel=shop.web)
    ordered = cart_create(channel=shop.web, customer=customer)
    cart_line_add(cart=ordered, variant=variant, quantity=2, channel=shop.web)
    order = order_checkout(
        cart=ordered,
        channel=shop.web,
        payment_method="pay_later",
        shipping_address={
            "name": "Camille Fuzz",
            "line1": "3 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
        default_choice=LineChoice(Fulfilment.SHIP, shop.warehouse),
    )
    reservation = stock_reserve(
        variant_id=variant.pk,
        location_id=shop.warehouse.pk,
        quantity=1,
        expires_at=timezone.now() + timedelta(hours=1),
        channel=shop.web,
    )
    transfer = transfer_create(
        from_location=shop.warehouse, to_location=shop.store, lines=[(variant.pk, 1)]
    )
    endpoint = WebhookEndpoint.objects.create(
        channel=shop.web, url="https://hooks.example.com/in", event_types=["stock.changed"]
    )

    api = "/api/v1/"
    return World(
        shop=shop,
        customer=customer,
        path_parameters={
            f"{api}carts/{{token}}/lines/": {"token": cart.token, "line_id": line.pk},
            f"{api}carts/{{token}}/": {"token": cart.token},
            f"{api}orders/{{reference}}/": {"reference": order.reference},
            f"{api}staff/orders/{{id}}/": {"id": order.pk},
            f"{api}staff/order-lines/{{id}}/": {"id": order.lines.first().pk},
            f"{api}staff/shipments/{{id}}/": {"id": Shipment.objects.get(order=order).pk},
            f"{api}products/{{id}}/": {"id": variant.product_id},
            f"{api}variants/{{sku}}/": {"sku": variant.sku},
            f"{api}reservations/{{id}}/": {"id": reservation.pk},
            f"{api}transfers/{{id}}/": {"id": transfer.pk},
            f"{api}webhooks/endpoints/{{id}}/": {"id": endpoint.pk},
            f"{api}me/addresses/{{id}}/": {"id": address.pk},
        },
    )


# --- who calls --------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A kind of caller: ``authorize`` makes its credentials in the test's world and
    answers the headers that carry them."""

    name: str
    authorize: Callable[[World], dict[str, str]]


def _anonymous(world: World) -> dict[str, str]:
    return {}


def _storefront_key(world: World) -> dict[str, str]:
    """The web store's publishable key, as its pages in a browser hold it."""
    _, raw_key = api_key_create(channel=world.shop.web, name="fuzz front end", kind="publishable")
    return {"Authorization": f"Bearer {raw_key}"}


def _integration_key(world: World) -> dict[str, str]:
    """The web store's secret key, as its own back end holds it."""
    _, raw_key = api_key_create(channel=world.shop.web, name="fuzz back end", kind="secret")
    return {"Authorization": f"Bearer {raw_key}"}


def _customer_token(world: World) -> dict[str, str]:
    """The world's customer, signed in on the web store (owner of its cart and order)."""
    email = world.customer.email
    sent = login_code_send(channel=world.shop.web, email=email)
    _, raw_token = login_code_exchange(channel=world.shop.web, email=email, code=sent.code)
    return {"Authorization": f"Customer {raw_token}"}


def _seller_key(world: World) -> dict[str, str]:
    """A seller of the Paris store (the seller role, staff of that store only): the
    world's web order, shipped from the warehouse, is out of their reach."""
    user = UserFactory(username="fuzz-seller", role="seller")
    world.shop.store.staff.add(user)
    _, raw_key = api_key_create(user=user, name="fuzz seller script")
    return {"Authorization": f"Bearer {raw_key}"}


def _head_office_key(world: World) -> dict[str, str]:
    """Head office: every permission, every location (``inventory.all_locations``)."""
    user = UserFactory(username="fuzz-head-office", role="head_office", is_staff=True)
    _, raw_key = api_key_create(user=user, name="fuzz head office script")
    return {"Authorization": f"Bearer {raw_key}"}


# Every principal of the permission table (unicommerce/access/principals.py), staff by
# the roles at both ends of their reach (unicommerce/access/roles.py).
PRINCIPALS = [
    Principal("anonymous", _anonymous),
    Principal("storefront", _storefront_key),
    Principal("integration", _integration_key),
    Principal("customer", _customer_token),
    Principal("seller", _seller_key),
    Principal("head-office", _head_office_key),
]


# --- the run ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(django_db_setup, django_db_blocker):
    """Served by the app itself, as a client would read it (the request reads, never
    writes, the database)."""
    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application())


@pytest.fixture
def wsgi_in_test_transaction(db):
    """The WSGI handler closes the database connection after each request; the test's
    transaction lives on that connection, so (as Django's test client does) it stays."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _fuzz(operation, mode: GenerationMode, headers: dict, known: dict | None) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    if known is not None:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=mode, path_parameters=known), strategy
        )

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case):
        # The principal's credentials only: none generated from the security schemes.
        case.headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in {"authorization", "cookie"}
        }
        case.cookies = {}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _report(failures: dict[str, BaseException]) -> str:
    parts = [f"{len(failures)} operation(s) answered outside the schema or with a 5xx:"]
    for label, error in failures.items():
        text = "\n".join(str(error).splitlines()[:REPORT_LINES])
        parts.append(f"\n=== {label}\n{type(error).__name__}: {text}")
    return "\n".join(parts)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda principal: principal.name)
def test_every_operation_answers_as_documented(
    api_schema, principal, mode, world, wsgi_in_test_transaction
):
    headers = principal.authorize(world)
    failures: dict[str, BaseException] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 70  # the whole API, not a schema that failed to load

    for operation in operations:
        try:
            with transaction.atomic():
                _fuzz(operation, mode, headers, world.parameters_for(operation.path))
                transaction.set_rollback(True)
        except (Exception, BaseExceptionGroup) as error:  # schemathesis's FailureGroup, a crash
            failures[operation.label] = error

    assert not failures, _report(failures)
