"""Live stock on the till: the open stock panel and the cart's "n here" figures poll with
the fingerprint they were rendered with; an unchanged answer is an empty 204 that costs
the session, the user and one query, and writes nothing; a changed one is the partial,
rendered afresh."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Reservation
from inventory.selectors import stock_fingerprint
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_receive, stock_sell

HX = {"HTTP_HX_REQUEST": "true"}
SELL = "/pos/sell/"


@pytest.fixture
def seller_client(client, shop):
    client.force_login(shop.seller)
    client.post("/pos/", {"register": shop.register.pk})
    return client


def poll_url(fragment: str) -> str:
    """The URL a live partial polls (its hx-get), unescaped."""
    return re.search(r'hx-get="([^"]*since=[^"]*)"', fragment).group(1).replace("&amp;", "&")


def panel(client, variant) -> str:
    return client.get(SELL, {"stock": variant.pk}, **HX).content.decode()


def figure(fragment: str, location_code: str) -> str:
    row = fragment.split(f'data-location="{location_code}"')[1].split("</tr>")[0]
    return re.search(r'class="num available">(\d+)<', row).group(1)


# The stock panel


def test_the_open_panel_polls_every_second_with_the_fingerprint_it_was_rendered_with(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(store=2, warehouse=7)

    fragment = panel(seller_client, variant)

    assert "hx-trigger=\"every 1s [document.visibilityState === 'visible']\"" in fragment
    fingerprint = stock_fingerprint(variant_ids=[variant.pk])
    assert poll_url(fragment) == f"{SELL}?stock={variant.pk}&since={fingerprint}"


def test_an_unchanged_panel_answers_204_for_the_user_and_one_query(
    seller_client, stocked_variant, django_assert_max_num_queries
):
    variant = stocked_variant(store=2, warehouse=7)
    url = poll_url(panel(seller_client, variant))
    session_before = seller_client.session.load()

    seller_client.get(url, **HX)  # the session is in the cache from now on
    with django_assert_max_num_queries(2) as captured:
        response = seller_client.get(url, **HX)

    assert response.status_code == 204
    assert response.content == b""
    assert "no-store" in response["Cache-Control"]
    sql = [query["sql"] for query in captured.captured_queries]
    assert "auth_user" in sql[0]  # the session itself comes from Redis
    assert "md5(" in sql[1]
    assert "inventory_stocklevel" in sql[1]
    assert not response.cookies  # the session was not written
    assert seller_client.session.load() == session_before


def test_a_change_anywhere_answers_the_panel_with_the_new_figures_and_fingerprint(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(store=2, warehouse=7)
    url = poll_url(panel(seller_client, variant))

    stock_receive(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=5)
    response = seller_client.get(url, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="stock"')
    assert "<html" not in fragment
    assert figure(fragment, "warehouse") == "12"
    assert figure(fragment, "paris") == "2"
    new_url = poll_url(fragment)
    assert new_url != url
    assert seller_client.get(new_url, **HX).status_code == 204


def test_a_sale_at_another_till_and_a_web_reservation_both_show(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(store=3, warehouse=4)
    url = poll_url(panel(seller_client, variant))

    stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])
    fragment = seller_client.get(url, **HX).content.decode()
    assert figure(fragment, "paris") == "2"

    stock_reserve(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=3)
    fragment = seller_client.get(poll_url(fragment), **HX).content.decode()
    assert figure(fragment, "warehouse") == "1"


def test_a_reservation_running_out_of_time_frees_its_units_before_the_expiry_task(
    seller_client, shop, stocked_variant
):
    variant = stocked_variant(warehouse=5)
    reservation = stock_reserve(
        variant_id=variant.pk,
        location_id=shop.warehouse.pk,
        quantity=2,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    fragment = panel(seller_client, variant)
    assert figure(fragment, "warehouse") == "3"
    url = poll_url(fragment)
    assert seller_client.get(url, **HX).status_code == 204

    # Time passes: nothing writes the stock level, the task has not run.
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = seller_client.get(url, **HX)

    assert response.status_code == 200
    assert figure(response.content.decode(), "warehouse") == "5"
    assert Reservation.objects.get(pk=reservation.pk).status == "active"


def test_a_closed_panel_does_not_poll(seller_client):
    fragment = seller_client.get(SELL, {"stock": ""}, **HX).content.decode()

    assert fragment.lstrip().startswith('<div id="stock"')
    assert "hx-trigger" not in fragment.split(">")[0]


def test_links_to_the_panel_cancel_its_poll_in_flight(seller_client, stocked_variant):
    variant = stocked_variant(store=2)
    seller_client.get(SELL, {"code": variant.sku}, **HX)

    results = seller_client.get(SELL, {"code": variant.sku}, **HX).content.decode()
    fragment = panel(seller_client, variant)

    assert 'hx-sync="#stock:replace"' in results.split('class="where"')[1].split(">")[0]
    assert 'hx-sync="#stock:replace"' in fragment.split('class="close"')[1].split(">")[0]


@pytest.mark.parametrize("query", ["stock=abc&since=x", "stock=&since=x", "since=x"])
def test_a_poll_for_nothing_is_answered_like_the_request_without_since(seller_client, query):
    response = seller_client.get(f"{SELL}?{query}", **HX)

    assert response.status_code == 200


def test_without_htmx_since_is_ignored_and_the_full_page_renders(seller_client, stocked_variant):
    variant = stocked_variant(store=2)
    url = poll_url(panel(seller_client, variant))

    response = seller_client.get(url)

    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_a_poll_after_the_session_ended_reloads_the_page_to_the_login(
    seller_client, stocked_variant
):
    variant = stocked_variant(store=2)
    url = poll_url(panel(seller_client, variant))
    seller_client.logout()

    response = seller_client.get(url, **HX)

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert response.content == b""
    assert seller_client.get(url).status_code == 302  # without htmx: to the login page


# The cart's "n here" figures


def scan(client, variant) -> str:
    return client.post(SELL, {"action": "scan", "code": variant.barcode}, **HX).content.decode()


def line_figure(fragment: str, sku: str) -> str:
    row = fragment.split(f'data-sku="{sku}"')[1].split("</tr>")[0]
    return re.search(r'class="line-stock[^"]*"[^>]*>\s*([^<]*?)\s*<', row).group(1)


def test_each_cart_line_shows_what_the_till_may_sell_here_and_polls_for_it(
    seller_client, shop, stocked_variant
):
    tee = stocked_variant(store=3, warehouse=9, sku="TEE")
    cap = stocked_variant(store=1, sku="CAP")
    stock_reserve(variant_id=tee.pk, location_id=shop.store.pk, quantity=1)
    scan(seller_client, tee)
    scan(seller_client, cap)

    workspace = scan(seller_client, cap)

    assert line_figure(workspace, "TEE") == "2 here"
    assert line_figure(workspace, "CAP") == "1 here"
    assert 'class="line-stock short"' in workspace.split('data-sku="CAP"')[1].split("</tr>")[0]
    fingerprint = stock_fingerprint(variant_ids=[tee.pk, cap.pk], location_ids=[shop.store.pk])
    assert poll_url(workspace) == (
        f"{SELL}?lines={tee.pk},{cap.pk}&at={shop.store.pk}&since={fingerprint}"
    )


def test_an_unchanged_cart_answers_204_for_the_session_the_user_and_one_query(
    seller_client, stocked_variant, django_assert_max_num_queries
):
    tee = stocked_variant(store=3)
    url = poll_url(scan(seller_client, tee))

    with django_assert_max_num_queries(3):
        response = seller_client.get(url, **HX)

    assert response.status_code == 204
    assert not response.cookies


def test_a_changed_cart_figure_swaps_only_the_figures_out_of_band(
    seller_client, shop, stocked_variant
):
    tee = stocked_variant(store=3, sku="TEE")
    workspace = scan(seller_client, tee)
    url = poll_url(workspace)
    line_id = re.search(r'id="line-stock-(\d+)"', workspace).group(1)

    stock_sell(location_id=shop.store.pk, lines=[(tee.pk, 2)])  # another till
    response = seller_client.get(url, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="line-stock-poll"')
    assert 'id="workspace"' not in fragment
    assert 'id="tendered"' not in fragment
    span = re.search(rf'<span id="line-stock-{line_id}"[^>]*>\s*([^<]*?)\s*</span>', fragment)
    assert 'hx-swap-oob="true"' in span.group(0)
    assert span.group(1) == "1 here"
    assert seller_client.get(poll_url(fragment), **HX).status_code == 204


def test_a_stock_change_at_another_location_does_not_disturb_the_cart(
    seller_client, shop, stocked_variant
):
    tee = stocked_variant(store=3, warehouse=2)
    url = poll_url(scan(seller_client, tee))

    stock_receive(variant_id=tee.pk, location_id=shop.warehouse.pk, quantity=4)

    assert seller_client.get(url, **HX).status_code == 204


def test_once_the_sale_is_completed_the_cart_poll_stops(seller_client, shop, stocked_variant):
    tee = stocked_variant(store=3)
    url = poll_url(scan(seller_client, tee))
    receipt = seller_client.post(SELL, {"action": "complete", "tendered": "50"}, **HX)
    assert "line-stock-poll" not in receipt.content.decode()

    # A poll already on its way when the sale completed: the stock changed, and the cart
    # it asks about is gone, so the answer is a poller that no longer polls.
    response = seller_client.get(url, **HX)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.strip() == '<div id="line-stock-poll" hidden></div>'


def test_the_cash_change_partial_still_costs_no_stock_query(
    seller_client, stocked_variant, django_assert_num_queries
):
    scan(seller_client, stocked_variant(store=5))

    # user, register, cart, lines, offers (the session comes from Redis, the permissions
    # from the process's few-seconds memory)
    with django_assert_num_queries(5):
        seller_client.post(SELL, {"action": "change", "tendered": "50"}, **HX)


@pytest.mark.parametrize("lines", [1, 6])
def test_the_cart_figures_cost_two_queries_whatever_the_number_of_lines(
    seller_client, stocked_variant, django_assert_num_queries, lines
):
    variants = [stocked_variant(store=5) for _ in range(lines)]
    for variant in variants:
        scan(seller_client, variant)
    line_id = _line_id(seller_client, variants[0])

    # user, register, cart (the session from Redis, the permissions remembered), then
    # the action (savepoint, line,
    # the cart's event and expiry, update, release), the cart re-read, the priced lines,
    # the offers, the figures (the fingerprint and the levels), and the stores a line may be
    # collected from
    with django_assert_num_queries(14):
        response = seller_client.post(
            SELL, {"action": "quantity", "line": line_id, "quantity": 2}, **HX
        )
    assert response.content.decode().count('class="line-stock') == lines


def _line_id(client, variant) -> int:
    from orders.models import CartLine

    return CartLine.objects.get(variant=variant, cart__token=client.session["pos_cart_token"]).pk


def test_search_results_count_free_units_here_as_the_cart_lines_do(
    seller_client, shop, stocked_variant
):
    from tests.factories import ProductFactory

    variant = stocked_variant(store=4, warehouse=9, product=ProductFactory(name="Linen shirt"))
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=3)

    results = seller_client.get(SELL, {"code": "linen"}, **HX).content.decode()
    workspace = scan(seller_client, variant)

    assert "1 here" in results
    assert line_figure(workspace, variant.sku) == "1 here"
