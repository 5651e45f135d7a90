"""The pull side of the stock sync: GET /api/v1/stock/changes, sellable quantities changed
since a cursor, never skipping a change committed late."""

import threading

import pytest
from django.db import connection, transaction

from inventory.models import ChannelStock
from inventory.services.stock import channel_stock_refresh, stock_receive, stock_sell
from inventory.sync import InvalidCursor, channel_stock_changes
from tests.conftest import run_outbox
from tests.factories import VariantFactory

URL = "/api/v1/stock/changes/"
# Committed data: the feed only shows transactions that have ended.
pytestmark = pytest.mark.django_db(transaction=True)


def quantities(page) -> dict[str, int]:
    return {change.sku: change.quantity for change in page.changes}


def test_a_first_read_returns_every_figure_then_only_what_changed(shop, stocked_variant):
    a = stocked_variant(store=3)
    b = stocked_variant(warehouse=2)
    run_outbox()

    first = channel_stock_changes(channel_id=shop.web.pk)
    assert quantities(first) == {a.sku: 3, b.sku: 2}
    assert not first.has_more

    assert channel_stock_changes(channel_id=shop.web.pk, cursor=first.cursor).changes == []
    stock_sell(location_id=shop.store.pk, lines=[(a.pk, 1)])
    run_outbox()

    second = channel_stock_changes(channel_id=shop.web.pk, cursor=first.cursor)
    [change] = second.changes
    assert (change.sku, change.quantity) == (a.sku, 2)
    assert change.version == ChannelStock.objects.get(channel=shop.web, variant=a).version
    assert channel_stock_changes(channel_id=shop.web.pk, cursor=second.cursor).changes == []


def test_pages_follow_each_other_without_gaps_or_repeats(shop, stocked_variant):
    variants = [stocked_variant(store=n + 1) for n in range(7)]
    run_outbox()

    seen, cursor, pages = [], "", 0
    while True:
        page = channel_stock_changes(channel_id=shop.web.pk, cursor=cursor, limit=3)
        seen += [change.sku for change in page.changes]
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            break

    assert sorted(seen) == sorted(v.sku for v in variants)
    assert pages == 3


def test_a_change_committed_late_is_not_skipped_by_a_cursor_that_moved_on(shop):
    early, late = VariantFactory(), VariantFactory()
    for variant in (early, late):
        stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
        channel_stock_refresh(variant_ids=[variant.pk])
    cursor = channel_stock_changes(channel_id=shop.web.pk).cursor

    # A transaction changes `early` and stays open (it started first, so its id is lower)…
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                stock_receive(variant_id=early.pk, location_id=shop.store.pk, quantity=5)
                channel_stock_refresh(variant_ids=[early.pk])
                started.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(10)
    # …while a later one changes `late` and commits.
    stock_receive(variant_id=late.pk, location_id=shop.store.pk, quantity=2)
    channel_stock_refresh(variant_ids=[late.pk])

    while_open = channel_stock_changes(channel_id=shop.web.pk, cursor=cursor)
    # Not even `late` is handed out yet: a cursor past it would skip `early` later.
    assert while_open.changes == []
    assert while_open.cursor == cursor

    release.set()
    thread.join(10)
    after = channel_stock_changes(channel_id=shop.web.pk, cursor=cursor)
    assert quantities(after) == {early.sku: 6, late.sku: 3}


def test_a_cursor_we_never_gave_out_is_refused(shop):
    for cursor in ["nonsense", "LTEuLTE", "!!!"]:
        with pytest.raises(InvalidCursor):
            channel_stock_changes(channel_id=shop.web.pk, cursor=cursor)


def test_the_api_gives_a_channel_its_own_changes(shop, stocked_variant, web_api):
    variant = stocked_variant(store=4)
    run_outbox()

    response = web_api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == "web"
    assert body["has_more"] is False
    [change] = body["results"]
    assert (change["sku"], change["quantity"], change["variant_id"]) == (variant.sku, 4, variant.pk)
    again = web_api.get(URL, {"cursor": body["cursor"]}).json()
    assert (again["results"], again["cursor"]) == ([], body["cursor"])


def test_the_api_refuses_bad_input_with_the_error_shape(shop, web_api, staff_api):
    response = web_api.get(URL, {"cursor": "garbage"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")
    response = web_api.get(URL, {"limit": "0"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["limit"]

    staff = staff_api("inventory.view_channelstock")
    assert staff.get(URL).json()["error"]["details"]["channel"]
    assert staff.get(URL, {"channel": "nowhere"}).status_code == 404
    assert staff.get(URL, {"channel": "web"}).status_code == 200
    assert staff_api().get(URL, {"channel": "web"}).status_code == 403
