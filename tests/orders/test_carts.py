"""Unified carts: tokens and expiry, who may open which cart, lines and fulfilment
choices, identification and merging, events, and the read model."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from catalog.models import ChannelPrice
from inventory.exceptions import InvalidQuantity
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_safety_set
from orders.exceptions import (
    CartClosed,
    CartExpired,
    CartForeign,
    CartLineNotFound,
    CartNotFound,
    InvalidFulfilment,
)
from orders.models import Cart, CartEvent, CartLine
from orders.selectors import cart_get, cart_view
from orders.services.cart_identity import cart_identify, cart_open_for_customer
from orders.services.carts import (
    cart_create,
    cart_line_add,
    cart_line_fulfilment_set,
    cart_line_set_quantity,
    cart_merge,
    cart_open,
)
from tests.factories import CustomerFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db


def events(cart) -> list[tuple[str, str]]:
    return list(
        CartEvent.objects.filter(cart=cart).order_by("id").values_list("kind", "channel__code")
    )


def lines(cart) -> list[tuple[str, int, str, str | None]]:
    return [
        (
            line.variant.sku,
            line.quantity,
            line.fulfilment,
            line.location.code if line.location else None,
        )
        for line in CartLine.objects.filter(cart=cart).select_related("variant", "location")
    ]


# --- tokens, expiry, access ------------------------------------------------------------


@override_settings(CART_TTL_DAYS=7)
def test_a_new_cart_has_an_unguessable_token_and_expires_after_the_ttl(shop):
    before = timezone.now()

    cart = cart_create(channel=shop.web)

    assert len(cart.token) >= 32
    assert before + timedelta(days=7) <= cart.expires_at <= timezone.now() + timedelta(days=7)
    assert events(cart) == [("created", "web")]


def test_every_write_pushes_the_expiry_forward(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    Cart.objects.filter(pk=cart.pk).update(expires_at=timezone.now() + timedelta(minutes=1))

    cart_line_add(cart=cart, variant=variant, quantity=1)

    cart.refresh_from_db()
    assert cart.expires_at > timezone.now() + timedelta(days=29)


def test_an_unknown_token_is_not_found(shop):
    with pytest.raises(CartNotFound) as error:
        cart_get(token="no-such-token", channel=shop.web)
    assert (error.value.code, error.value.http_status) == ("cart_not_found", 404)


def test_an_expired_cart_is_refused_with_410_and_cannot_be_written(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    Cart.objects.filter(pk=cart.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    cart.refresh_from_db()

    with pytest.raises(CartExpired) as error:
        cart_get(token=cart.token, channel=shop.web)
    assert (error.value.code, error.value.http_status) == ("cart_expired", 410)
    with pytest.raises(CartExpired):
        cart_line_add(cart=cart, variant=variant)
    assert not CartLine.objects.filter(cart=cart).exists()
    assert events(cart) == [("created", "web")]


def test_a_channel_opens_its_own_carts_and_customers_carts_but_not_anonymous_foreign_ones(
    shop,
):
    anonymous_web = cart_create(channel=shop.web)
    owned_web = cart_create(channel=shop.web, customer=CustomerFactory())

    assert cart_get(token=anonymous_web.token, channel=shop.web) == anonymous_web
    assert cart_get(token=owned_web.token, channel=shop.store_channel) == owned_web
    with pytest.raises(CartForeign) as error:
        cart_get(token=anonymous_web.token, channel=shop.store_channel)
    assert (error.value.code, error.value.http_status) == ("cart_foreign", 403)
    assert cart_get(token=anonymous_web.token) == anonymous_web  # staff


def test_a_customer_opens_their_own_and_anonymous_carts_only(shop):
    alice, bob = CustomerFactory(), CustomerFactory()
    hers = cart_create(channel=shop.web, customer=alice)
    anonymous = cart_create(channel=shop.web)
    his = cart_create(channel=shop.web, customer=bob)

    assert cart_get(token=hers.token, channel=shop.web, customer=alice) == hers
    assert cart_get(token=anonymous.token, channel=shop.web, customer=alice) == anonymous
    with pytest.raises(CartForeign):
        cart_get(token=his.token, channel=shop.web, customer=alice)


def test_a_merged_carts_token_leads_to_the_cart_it_was_merged_into(shop, stocked_variant):
    customer = CustomerFactory()
    target = cart_create(channel=shop.web, customer=customer)
    source = cart_create(channel=shop.store_channel)
    cart_merge(source=source, target=target)

    assert cart_get(token=source.token, channel=shop.web) == target


# --- lines -----------------------------------------------------------------------------


def test_adding_a_variant_twice_grows_one_line_and_records_events(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)

    cart_line_add(cart=cart, variant=variant, quantity=1)
    line = cart_line_add(cart=cart, variant=variant, quantity=2, channel=shop.store_channel)

    assert line.quantity == 3
    assert lines(cart) == [(variant.sku, 3, "", None)]
    assert events(cart) == [
        ("created", "web"),
        ("line_added", "web"),
        ("line_added", "store-paris"),
    ]


@pytest.mark.parametrize("quantity", [0, -1, True, "2", 1.5])
def test_a_bad_quantity_is_refused_and_nothing_changes(shop, stocked_variant, quantity):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)

    with pytest.raises(InvalidQuantity):
        cart_line_add(cart=cart, variant=variant, quantity=quantity)

    assert lines(cart) == []
    assert events(cart) == [("created", "web")]


def test_changing_and_removing_lines_records_each_change(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    line = cart_line_add(cart=cart, variant=variant, quantity=1)

    cart_line_set_quantity(cart=cart, line_id=line.pk, quantity=4)
    assert lines(cart) == [(variant.sku, 4, "", None)]
    assert cart_line_set_quantity(cart=cart, line_id=line.pk, quantity=0) is None

    assert lines(cart) == []
    assert [kind for kind, _channel in events(cart)] == [
        "created",
        "line_added",
        "line_changed",
        "line_removed",
    ]
    with pytest.raises(CartLineNotFound):
        cart_line_set_quantity(cart=cart, line_id=line.pk, quantity=1)


def test_a_line_can_be_collected_at_a_store_or_shipped(shop, stocked_variant):
    variant = stocked_variant(warehouse=5, store=2)
    cart = cart_create(channel=shop.web)
    line = cart_line_add(
        cart=cart, variant=variant, quantity=1, fulfilment="collect", location=shop.store
    )
    assert lines(cart) == [(variant.sku, 1, "collect", "paris")]

    cart_line_fulfilment_set(cart=cart, line_id=line.pk, fulfilment="ship")

    assert lines(cart) == [(variant.sku, 1, "ship", None)]


@pytest.mark.parametrize(
    ("fulfilment", "where"),
    [
        ("collect", None),  # collect needs a store
        ("collect", "warehouse"),  # a warehouse is not a store
        ("teleport", None),
        ("", "paris"),  # a location without saying what for
    ],
)
def test_bad_fulfilment_choices_are_refused_and_nothing_changes(
    shop, stocked_variant, fulfilment, where
):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    line = cart_line_add(cart=cart, variant=variant, quantity=1)
    location = {"paris": shop.store, "warehouse": shop.warehouse, None: None}[where]

    with pytest.raises(InvalidFulfilment) as error:
        cart_line_fulfilment_set(
            cart=cart, line_id=line.pk, fulfilment=fulfilment, location=location
        )

    assert error.value.http_status == 400
    assert lines(cart) == [(variant.sku, 1, "", None)]


def test_a_checked_out_cart_refuses_writes(shop, stocked_variant):
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CHECKED_OUT)

    with pytest.raises(CartClosed):
        cart_line_add(cart=cart, variant=variant)  # the in-memory cart still says open

    assert lines(cart) == []


# --- identify and merge ------------------------------------------------------------------


def test_identifying_creates_the_customer_and_owns_the_cart(shop, stocked_variant):
    cart = cart_create(channel=shop.web)

    cart = cart_identify(cart=cart, phone="06 12 34 56 78", first_name="Léa", channel=shop.web)

    cart.refresh_from_db()
    assert (cart.customer.phone, cart.customer.first_name) == ("+33612345678", "Léa")
    assert events(cart)[-1] == ("identified", "web")


def test_identifying_with_an_open_cart_merges_into_it_adding_quantities(shop, stocked_variant):
    a, b, c = (stocked_variant(warehouse=9) for _ in range(3))
    customer = CustomerFactory(phone="+33611111111")
    theirs = cart_create(channel=shop.store_channel, customer=customer)
    cart_line_add(cart=theirs, variant=a, quantity=1, fulfilment="collect", location=shop.store)
    cart_line_add(cart=theirs, variant=b, quantity=1)
    anonymous = cart_create(channel=shop.web)
    cart_line_add(cart=anonymous, variant=a, quantity=2)
    cart_line_add(cart=anonymous, variant=c, quantity=1, fulfilment="ship")

    survivor = cart_identify(cart=anonymous, phone="0611111111", channel=shop.web, verified=True)

    assert survivor.pk == theirs.pk
    assert sorted(lines(theirs)) == sorted(
        [(a.sku, 3, "collect", "paris"), (b.sku, 1, "", None), (c.sku, 1, "ship", None)]
    )
    anonymous.refresh_from_db()
    assert (anonymous.status, anonymous.merged_into_id) == ("merged", theirs.pk)
    assert lines(anonymous) == []
    assert [kind for kind, _ in events(anonymous)][-2:] == ["identified", "merged"]
    assert events(theirs)[-1] == ("merged", "web")
    assert cart_get(token=anonymous.token, channel=shop.web) == theirs


def test_a_cart_owned_by_someone_else_cannot_be_identified_as_another(shop):
    cart = cart_create(channel=shop.web, customer=CustomerFactory(phone="+33622222222"))

    with pytest.raises(CartForeign):
        cart_identify(cart=cart, phone="+33633333333", channel=shop.web)

    cart.refresh_from_db()
    assert cart.customer.phone == "+33622222222"


def test_the_pos_opens_the_customers_cart_and_it_is_recorded(shop, stocked_variant):
    customer = CustomerFactory(phone="+33644444444")
    web_cart = cart_create(channel=shop.web, customer=customer)

    opened = cart_open_for_customer(customer=customer, channel=shop.store_channel)

    assert opened.pk == web_cart.pk
    assert events(web_cart)[-1] == ("opened", "store-paris")


def test_a_customer_without_a_cart_gets_a_new_one_on_the_opening_channel(shop):
    customer = CustomerFactory()

    cart = cart_open_for_customer(customer=customer, channel=shop.store_channel)

    assert (cart.channel_id, cart.customer_id) == (shop.store_channel.pk, customer.pk)


def test_opening_on_the_carts_own_channel_is_not_an_event(shop):
    cart = cart_create(channel=shop.web)

    cart_open(cart=cart, channel=shop.web)

    assert events(cart) == [("created", "web")]


# --- the read model --------------------------------------------------------------------


def test_the_view_shows_todays_prices_and_availability_per_line(shop, stocked_variant, receive):
    cheap = stocked_variant(warehouse=4, store=3, price_amount=Decimal("10.00"))
    collected = stocked_variant(store=1, price_amount=Decimal("5.00"))
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=cheap, quantity=2)
    cart_line_add(
        cart=cart, variant=collected, quantity=2, fulfilment="collect", location=shop.store
    )
    stock_safety_set(variant_id=cheap.pk, location_id=shop.store.pk, safety=1)
    stock_reserve(variant_id=cheap.pk, location_id=shop.warehouse.pk, quantity=1)
    ChannelPrice.objects.create(variant=cheap, channel=shop.web, price_amount=Decimal("8.00"))

    view = cart_view(cart=cart, channel=shop.web)

    assert [
        (v.line.variant_id, v.priced.unit_price_amount, v.sellable, v.at_location, v.is_available)
        for v in view.lines
    ] == [
        (cheap.pk, Decimal("8.00"), 3 + 2, None, True),  # warehouse 4-1, Paris 3-1 safety
        (collected.pk, Decimal("5.00"), 1, 1, False),  # 2 wanted at Paris, 1 there
    ]
    assert view.pricing.total_amount == Decimal("26.00")
    assert view.is_available is False
    # the store sees its own price (none set: the variant's) and its own locations
    store_view = cart_view(cart=cart, channel=shop.store_channel)
    assert store_view.lines[0].priced.unit_price_amount == Decimal("10.00")
    assert store_view.lines[0].sellable == 2


@pytest.mark.parametrize("count", [1, 6])
def test_the_view_costs_three_queries_whatever_the_number_of_lines(
    shop, stocked_variant, count
):
    """The priced lines, the offers that apply, the stock; a cart without codes or
    manual discounts skips their queries."""
    cart = cart_create(channel=shop.web)
    for _ in range(count):
        cart_line_add(cart=cart, variant=stocked_variant(warehouse=3, store=1), quantity=1)
    cart = Cart.objects.get(pk=cart.pk)

    with CaptureQueriesContext(connection) as queries:
        view = cart_view(cart=cart, channel=shop.web)
        [line.line.variant.product.name for line in view.lines]

    assert len(queries) == 3


def test_another_channel_sees_its_own_sellable_quantity(shop, stocked_variant):
    other = SalesChannelFactory(code="marketplace", kind="marketplace")
    variant = stocked_variant(warehouse=5)
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=1)

    assert cart_view(cart=cart, channel=other).lines[0].sellable == 0
