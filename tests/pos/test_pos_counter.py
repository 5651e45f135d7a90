"""The counter queue at the till: this store's click & collect and ship-from-store orders
still to hand over, each step done at the counter (pick, ready with the pickup code sent,
handed over against the code, shipped with a tracking number); another store's orders are
not there; wrong pickup codes change nothing and are counted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Fulfilment, Order, Shipment
from tests.orders.fixtures_fulfilment import *  # noqa: F403

pytestmark = pytest.mark.django_db
URL = reverse("pos:counter")


@pytest.fixture
def orders_here(shop, stocked_variant, make_order, lyon):
    variant = stocked_variant(store=10, warehouse=10, price_amount=Decimal("25.00"))
    from inventory.services.stock import stock_receive

    stock_receive(variant_id=variant.pk, location_id=lyon.pk, quantity=5)
    collect = make_order(lines=[(variant, 1, Fulfilment.COLLECT, shop.store)], phone="+33612345678")
    ship = make_order(lines=[(variant, 2, Fulfilment.SHIP, shop.store)])
    elsewhere = make_order(lines=[(variant, 1, Fulfilment.COLLECT, lyon)])
    web = make_order(lines=[(variant, 1, Fulfilment.SHIP, shop.warehouse)])
    return collect, ship, elsewhere, web


def shipment_of(order: Order) -> Shipment:
    return order.shipments.get()


def act(till, order: Order, action: str, **fields):
    return till.post(URL, {"action": action, "shipment": shipment_of(order).pk, **fields})


def test_the_queue_lists_this_stores_counter_orders_only(till, orders_here):
    collect, ship, elsewhere, web = orders_here
    page = till.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert collect.reference in html and ship.reference in html  # noqa: PT018
    assert elsewhere.reference not in html  # Lyon's
    assert web.reference not in html  # the warehouse's


def test_a_click_and_collect_order_is_picked_readied_and_handed_over(till, orders_here):
    from unicommerce.messaging.models import Message

    collect = orders_here[0]
    assert act(till, collect, "pick").status_code == 200
    ready = act(till, collect, "ready")
    assert ready.status_code == 200
    assert "pickup code" in ready.content.decode()
    shipment = shipment_of(collect)
    assert shipment.status == Shipment.Status.READY and shipment.pickup_code  # noqa: PT018
    assert Message.objects.filter(to="+33612345678").exists()  # the code went to the customer

    wrong = act(
        till, collect, "collect", code="000000" if shipment.pickup_code != "000000" else "1"
    )
    assert wrong.status_code == 422
    assert "not the pickup code" in wrong.content.decode()
    assert shipment_of(collect).status == Shipment.Status.READY

    handed = act(till, collect, "collect", code=shipment.pickup_code)
    assert handed.status_code == 200
    assert shipment_of(collect).status == Shipment.Status.COLLECTED
    assert collect.reference not in till.get(URL).content.decode()


def test_guessing_a_pickup_code_is_stopped(till, orders_here, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "pickup_code_attempt_per_shipment": "3/hour"}
    collect = orders_here[0]
    act(till, collect, "ready")
    code = shipment_of(collect).pickup_code
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    statuses = [act(till, collect, "collect", code=wrong).status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    blocked = act(till, collect, "collect", code=code)
    assert blocked.status_code == 429
    assert shipment_of(collect).status == Shipment.Status.READY


def test_a_ship_from_store_order_needs_its_tracking_number(till, orders_here):
    ship = orders_here[1]
    missing = act(till, ship, "ship", carrier="Colissimo", tracking_number="")
    assert missing.status_code == 422
    assert shipment_of(ship).status == Shipment.Status.PENDING
    shipped = act(till, ship, "ship", carrier="Colissimo", tracking_number="6A12345678901")
    assert shipped.status_code == 200
    assert shipment_of(ship).status == Shipment.Status.SHIPPED


def test_another_stores_order_cannot_be_acted_on(till, orders_here):
    elsewhere = orders_here[2]
    answer = act(till, elsewhere, "ready")
    assert answer.status_code == 404
    assert shipment_of(elsewhere).status == Shipment.Status.PENDING


def test_a_scanned_reference_finds_its_order(till, orders_here):
    collect, ship = orders_here[0], orders_here[1]
    page = till.get(URL, {"order": collect.reference.lower()}).content.decode()
    assert collect.reference in page and ship.reference not in page  # noqa: PT018
    missing = till.get(URL, {"order": "UC99999999"}).content.decode()
    assert "No order" in missing
