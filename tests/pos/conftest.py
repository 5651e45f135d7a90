"""Fixtures of the POS's unified-cart tests: a logged-in till, a second store, a
customer with a cart filled on the web, orders from other channels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Location
from orders.models import Order, Shipment
from orders.services.carts import cart_create, cart_line_add
from orders.services.checkout import order_checkout
from orders.services.fulfilment import shipment_pack, shipment_pick_start, shipment_ship
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, SalesChannelFactory

HX = {"HTTP_HX_REQUEST": "true"}
SELL = "/pos/sell/"
RETURNS = "/pos/returns/"


@pytest.fixture
def till(client, shop):
    """The seller's browser at Till 1 in Paris."""
    client.force_login(shop.seller)
    response = client.post("/pos/", {"register": shop.register.pk})
    assert response.status_code == 302
    return client


@pytest.fixture
def lyon(shop) -> Location:
    """A second store, where a customer may collect."""
    channel = SalesChannelFactory(code="store-lyon", name="Lyon store", kind="store")
    return LocationFactory(code="lyon", name="Lyon", kind="store", channels=[channel, shop.web])


@pytest.fixture
def quarantine(db) -> Location:
    return LocationFactory(code="quarantine", name="Quarantine", kind="quarantine")


@pytest.fixture
def camille(db):
    return CustomerFactory(
        first_name="Camille",
        last_name="Martin",
        email="camille@example.com",
        phone="+33612345678",
    )


@pytest.fixture
def tee(stocked_variant):
    return stocked_variant(
        store=5,
        warehouse=10,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )


@pytest.fixture
def scarf(stocked_variant):
    return stocked_variant(
        store=3,
        warehouse=6,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )


@pytest.fixture
def web_cart(shop, camille, tee, scarf):
    """Camille's cart, filled on the web: 2 tees and a scarf."""
    cart = cart_create(channel=shop.web, customer=camille)
    cart_line_add(cart=cart, variant=tee, quantity=2, channel=shop.web)
    cart_line_add(cart=cart, variant=scarf, quantity=1, channel=shop.web)
    return cart


def web_order_delivered(*, shop, customer, variant, quantity: int = 2, location=None) -> Order:
    """A web order shipped from the warehouse (or ``location``) and handed to the carrier
    (fulfilled)."""
    cart = cart_create(channel=shop.web, customer=customer)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=shop.web)
    from orders.models import Fulfilment
    from orders.services.checkout_plan import LineChoice

    order = order_checkout(
        cart=cart,
        channel=shop.web,
        payment_method="pay_later",
        shipping_address={
            "name": "Camille Martin",
            "line1": "3 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
        default_choice=LineChoice(Fulfilment.SHIP, location or shop.warehouse),
    )
    shipment = Shipment.objects.get(order=order)
    shipment_pick_start(shipment=shipment)
    shipment_pack(shipment=shipment)
    shipment_ship(shipment=shipment, carrier="colissimo", tracking_number="6A123")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    return order
