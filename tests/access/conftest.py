"""Every kind of caller, ready to call: the principals of the permission table and the
staff roles, with the credentials each really uses (a channel's publishable or secret
key, a customer's token, a member of staff's API key and POS session)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import AccessToken
from tests.factories import CustomerFactory, LocationFactory, SalesChannelFactory, UserFactory
from unicommerce.channels.services import api_key_create

PRINCIPALS = [
    "anonymous",
    "storefront",
    "integration",
    "customer",
    "seller",
    "store_manager",
    "warehouse",
    "head_office",
]
STAFF_ROLES = {"seller", "store_manager", "warehouse", "head_office"}


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def customer_token_client(customer, channel) -> APIClient:
    raw = "ucc_" + secrets.token_urlsafe(24)
    AccessToken.objects.create(
        customer=customer,
        channel=channel,
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@dataclass
class Caller:
    name: str
    api: APIClient  # for /api/
    user: object = None  # a member of staff
    register: object = None  # the register their POS session sells at

    def web(self) -> Client:
        """A browser: signed in (staff) with their register picked, else anonymous."""
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        if self.user is not None:
            client.force_login(self.user)
            if self.register is not None:
                client.post("/pos/", {"register": self.register.pk})
        return client


@dataclass
class World:
    shop: object
    lyon: object
    lyon_register: object
    customer: object
    callers: dict[str, Caller]


@pytest.fixture
def world(shop) -> World:
    """The shop (Paris store + warehouse + web), a Lyon store, and one caller of each
    kind: sellers and the store manager work in Paris, the warehouse team at the
    warehouse, head office everywhere."""
    from tests.factories import RegisterFactory

    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store", channels=[lyon_channel])
    lyon_register = RegisterFactory(
        code="lyon-1", name="Till 1", location=lyon, channel=lyon_channel
    )
    customer = CustomerFactory(email="camille@example.com", phone="+33612345678")
    _, publishable = api_key_create(channel=shop.web, name="storefront", kind="publishable")
    _, secret = api_key_create(channel=shop.web, name="back end", kind="secret")
    callers = {
        "anonymous": Caller("anonymous", APIClient(HTTP_ACCEPT_LANGUAGE="en")),
        "storefront": Caller("storefront", bearer(publishable)),
        "integration": Caller("integration", bearer(secret)),
        "customer": Caller("customer", customer_token_client(customer, shop.web)),
    }
    for role, location, register in [
        ("seller", shop.store, shop.register),
        ("store_manager", shop.store, shop.register),
        ("warehouse", shop.warehouse, None),
        ("head_office", None, shop.register),
    ]:
        user = UserFactory(username=f"{role}-user", role=role, is_staff=role != "seller")
        if location is not None:
            location.staff.add(user)
        _, raw = api_key_create(user=user, name=f"{role} script")
        callers[role] = Caller(role, bearer(raw), user=user, register=register)
    return World(shop, lyon, lyon_register, customer, callers)
