"""Fixtures for the cart and checkout tests (the shared ``shop`` and ``stocked_variant``
come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from inventory.models import Location, StockLevel
from inventory.services.stock import stock_receive
from orders.models import Cart
from orders.services.carts import cart_create, cart_line_add
from tests.factories import LocationFactory, SalesChannelFactory


@dataclass
class Chain:
    """The shared ``shop`` (web fed by the warehouse and Paris; the Paris store channel)
    plus a Lyon store (its own channel, also feeding the web) and a quarantine place."""

    shop: object
    lyon_channel: object
    lyon: Location
    quarantine: Location


@pytest.fixture
def chain(shop) -> Chain:
    lyon_channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    lyon = LocationFactory(
        code="lyon", name="Lyon", kind="store", channels=[lyon_channel, shop.web]
    )
    quarantine = LocationFactory(
        code="quarantine", name="Quarantine", kind="quarantine", channels=[shop.web]
    )
    return Chain(shop, lyon_channel, lyon, quarantine)


@pytest.fixture
def receive() -> Callable:
    def run(variant, location, quantity: int) -> None:
        stock_receive(variant_id=variant.pk, location_id=location.pk, quantity=quantity)

    return run


@pytest.fixture
def web_cart(shop) -> Callable:
    """A web cart holding (variant, quantity) lines."""

    def make(*lines, channel=None, **fields) -> Cart:
        cart = cart_create(channel=channel or shop.web, **fields)
        for variant, quantity in lines:
            cart_line_add(cart=cart, variant=variant, quantity=quantity)
        return cart

    return make


def level(variant, location) -> tuple[int, int]:
    """(on_hand, reserved) of a variant at a location."""
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.reserved) if found else (0, 0)


ADDRESS = {
    "first_name": "Camille",
    "last_name": "Durand",
    "line1": "1 rue de Rivoli",
    "postal_code": "75001",
    "city": "Paris",
    "country": "fr",
}
