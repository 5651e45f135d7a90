"""Figures and segments computed from orders: order count, lifetime value (minus
returns), last purchase, preferred channel, channel behaviour, RFM scores and segment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.selectors import customer_overview
from crm.services.figures import customer_figures_refresh
from crm.tasks import customer_figures_refresh_task
from customers.models import Customer
from orders.models import Order
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db


def test_figures_count_orders_minus_returns_and_not_cancelled_ones(
    shop, make_customer, make_order, make_return
):
    customer = make_customer()
    first = make_order(customer, "100.00", days_ago=30)
    make_order(customer, "40.00", days_ago=2, status=Order.Status.PROCESSING)
    make_order(customer, "999.00", days_ago=1, status=Order.Status.CANCELLED)
    make_return(first, "25.00")

    written = customer_figures_refresh(customer_ids=[customer.pk])

    customer.refresh_from_db()
    assert written == 1
    assert customer.order_count == 2
    assert customer.lifetime_value == Decimal("115.00")
    assert customer.last_purchase_at == Order.objects.get(total_amount="40.00").created_at
    assert customer.preferred_channel == shop.web
    assert customer.behaviour == Customer.Behaviour.ONLINE_ONLY
    assert customer.figures_updated_at is not None


def test_behaviour_online_store_omnichannel_and_none(shop, make_customer, make_order):
    app = SalesChannelFactory(code="app", kind="app")
    online, store, both, filled_online, nothing = (make_customer() for _ in range(5))
    make_order(online, channel=shop.web)
    make_order(online, channel=app)
    make_order(store, channel=shop.store_channel)
    make_order(both, channel=shop.web)
    make_order(both, channel=shop.store_channel)
    # A cart filled on the web and finished in the store counts for both.
    make_order(filled_online, channel=shop.store_channel, origin_channel=shop.web)

    customer_figures_refresh()

    behaviour = dict(Customer.objects.values_list("pk", "behaviour"))
    assert behaviour[online.pk] == "online_only"
    assert behaviour[store.pk] == "store_only"
    assert behaviour[both.pk] == "omnichannel"
    assert behaviour[filled_online.pk] == "omnichannel"
    assert behaviour[nothing.pk] == "none"


def test_preferred_channel_is_the_most_used_then_the_latest(shop, make_customer, make_order):
    mostly_store, tie = make_customer(), make_customer()
    make_order(mostly_store, channel=shop.web, days_ago=1)
    make_order(mostly_store, channel=shop.store_channel, days_ago=5)
    make_order(mostly_store, channel=shop.store_channel, days_ago=6)
    make_order(tie, channel=shop.store_channel, days_ago=5)
    make_order(tie, channel=shop.web, days_ago=1)

    customer_figures_refresh()

    assert Customer.objects.get(pk=mostly_store.pk).preferred_channel == shop.store_channel
    assert Customer.objects.get(pk=tie.pk).preferred_channel == shop.web


def test_rfm_scores_and_segments_on_a_small_population(shop, make_customer, make_order):
    """Five buyers spread over recency, frequency and value; quintile scores are
    1 + floor(5 × percent_rank), so with five customers they are 1, 2, 3, 4, 5."""
    champion = make_customer(first_name="champion")
    for days in (1, 3, 5, 7):
        make_order(champion, "200.00", days_ago=days)
    loyal = make_customer(first_name="loyal")
    for days in (20, 40, 60):
        make_order(loyal, "100.00", days_ago=days)
    new = make_customer(first_name="new")
    make_order(new, "30.00", days_ago=2)
    at_risk = make_customer(first_name="at_risk")
    for days in (300, 320):
        make_order(at_risk, "175.00", days_ago=days)
    hibernating = make_customer(first_name="hibernating")
    make_order(hibernating, "10.00", days_ago=400)
    make_customer(first_name="never", rfm_segment="loyal", rfm_recency=5)  # stale scores

    customer_figures_refresh()

    scores = {
        c.first_name: (c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.rfm_segment)
        for c in Customer.objects.all()
    }
    assert scores["champion"] == (5, 5, 5, "champions")
    assert scores["loyal"] == (3, 4, 3, "loyal")
    assert scores["new"] == (4, 1, 2, "new")
    assert scores["at_risk"] == (2, 3, 4, "at_risk")
    assert scores["hibernating"] == (1, 1, 1, "hibernating")
    assert scores["never"] == (None, None, None, "")


def test_a_refresh_for_some_customers_leaves_the_others_figures_alone(
    shop, make_customer, make_order
):
    refreshed, untouched = make_customer(), make_customer()
    make_order(refreshed, "10.00")
    make_order(untouched, "20.00")

    customer_figures_refresh(customer_ids=[refreshed.pk])

    assert Customer.objects.get(pk=refreshed.pk).order_count == 1
    assert Customer.objects.get(pk=untouched.pk).order_count == 0
    assert customer_figures_refresh(customer_ids=[]) == 0


def test_the_celery_task_refreshes_everyone(shop, make_customer, make_order):
    customer = make_customer()
    make_order(customer, "12.50")

    assert customer_figures_refresh_task.name == "orders.customer_figures_refresh"
    assert customer_figures_refresh_task.apply().get() == Customer.objects.count()

    assert Customer.objects.get(pk=customer.pk).lifetime_value == Decimal("12.50")


def test_figures_take_three_statements_whatever_the_number_of_customers(
    shop, make_customer, make_order, django_assert_num_queries
):
    for _ in range(6):
        make_order(make_customer(), "10.00")

    with django_assert_num_queries(5):  # savepoint + 3 statements + release
        customer_figures_refresh()


def test_the_overview_shows_orders_of_every_channel_carts_and_returns(
    shop, make_customer, make_order, make_return, make_cart
):
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Cart
    from tests.factories import VariantFactory

    customer = make_customer()
    web = make_order(customer, "60.00", channel=shop.web, days_ago=3)
    store = make_order(customer, "40.00", channel=shop.store_channel, days_ago=1)
    make_order(customer, "5.00", status=Order.Status.CANCELLED)
    make_return(web, "10.00")
    open_cart = make_cart(customer, (VariantFactory(), 2))
    stale = make_cart(customer, (VariantFactory(), 1))
    Cart.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(days=3))

    overview = customer_overview(customer)

    assert [o.pk for o in overview.orders][1:] == [store.pk, web.pk]
    assert overview.order_count == 2
    assert overview.lifetime_value == Decimal("90.00")
    assert overview.last_purchase_at == store.created_at
    assert {c.code for c in overview.channels} == {"web", "store-paris"}
    assert [c.pk for c in overview.open_carts] == [open_cart.pk]
    assert [c.pk for c in overview.abandoned_carts] == [stale.pk]
    assert overview.open_carts[0].item_count == 2
    assert [r.order_id for r in overview.returns] == [web.pk]
