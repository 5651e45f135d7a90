"""Live stock figures: the fingerprint a live screen polls with, and the back-office
stock level list, whose script asks a small JSON view for the figures of the rows shown
when, and only when, they changed."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from inventory.selectors import stock_fingerprint
from inventory.services.reservations import stock_reserve
from inventory.services.stock import (
    stock_incoming_change,
    stock_receive,
    stock_safety_set,
    stock_take,
)
from tests.factories import UserFactory, VariantFactory

CHANGELIST = "/admin/inventory/stocklevel/"
LIVE = "/admin/inventory/stocklevel/live/"


# The fingerprint


def test_it_changes_with_every_figure_a_screen_shows(shop, stocked_variant):
    variant = stocked_variant(store=4, warehouse=6)
    store, warehouse = shop.store.pk, shop.warehouse.pk
    seen = {stock_fingerprint(variant_ids=[variant.pk])}

    changes = [
        lambda: stock_receive(variant_id=variant.pk, location_id=store, quantity=1),
        lambda: stock_take(location_id=warehouse, lines=[(variant.pk, 2)], reason="damage"),
        lambda: stock_reserve(variant_id=variant.pk, location_id=store, quantity=1),
        lambda: stock_incoming_change(entries=[(variant.pk, warehouse, 5)]),
        lambda: stock_safety_set(variant_id=variant.pk, location_id=store, safety=1),
    ]
    for change in changes:
        change()
        fingerprint = stock_fingerprint(variant_ids=[variant.pk])
        assert fingerprint not in seen
        seen.add(fingerprint)


def test_it_stays_the_same_while_nothing_changes_and_ignores_other_variants(shop, stocked_variant):
    variant = stocked_variant(store=4)
    other = stocked_variant(store=4)
    before = stock_fingerprint(variant_ids=[variant.pk])

    stock_receive(variant_id=other.pk, location_id=shop.store.pk, quantity=3)

    assert stock_fingerprint(variant_ids=[variant.pk]) == before
    assert stock_fingerprint(variant_ids=[variant.pk]) == before


def test_a_move_between_two_shown_locations_changes_it_though_the_sums_do_not(
    shop, stocked_variant
):
    variant = stocked_variant(store=4, warehouse=6)
    before = stock_fingerprint(variant_ids=[variant.pk])

    stock_take(location_id=shop.warehouse.pk, lines=[(variant.pk, 2)], reason="adjustment")
    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=2)

    assert stock_fingerprint(variant_ids=[variant.pk]) != before


def test_a_safety_change_changes_it(shop, stocked_variant):
    variant = stocked_variant(store=4)
    before = stock_fingerprint(variant_ids=[variant.pk])

    stock_safety_set(variant_id=variant.pk, location_id=shop.store.pk, safety=2)

    # The figures are hashed, not only the time: any change of a shown number counts.
    assert stock_fingerprint(variant_ids=[variant.pk]) != before


def test_a_reservation_running_out_of_time_changes_it_before_the_expiry_task(shop, stocked_variant):
    variant = stocked_variant(store=4)
    reservation = stock_reserve(
        variant_id=variant.pk,
        location_id=shop.store.pk,
        quantity=3,
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    before = stock_fingerprint(variant_ids=[variant.pk])

    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = stock_fingerprint(variant_ids=[variant.pk])

    assert expired != before
    assert Reservation.objects.get(pk=reservation.pk).status == "active"


def test_a_new_level_changes_it_and_locations_narrow_it(shop, stocked_variant):
    variant = stocked_variant(store=4)
    everywhere = stock_fingerprint(variant_ids=[variant.pk])
    here = stock_fingerprint(variant_ids=[variant.pk], location_ids=[shop.store.pk])

    stock_receive(variant_id=variant.pk, location_id=shop.warehouse.pk, quantity=1)

    assert stock_fingerprint(variant_ids=[variant.pk]) != everywhere
    assert stock_fingerprint(variant_ids=[variant.pk], location_ids=[shop.store.pk]) == here


def test_it_needs_to_be_told_which_levels(db):
    with pytest.raises(TypeError):
        stock_fingerprint(location_ids=[1])
    assert stock_fingerprint(variant_ids=[]) == stock_fingerprint(level_ids=[])


# The back-office change list


@pytest.fixture
def stock_viewer(db, client):
    user = UserFactory(
        is_staff=True, permissions=["inventory.view_stocklevel", "inventory.all_locations"]
    )
    client.force_login(user)
    return client


@pytest.fixture
def levels(shop, stocked_variant):
    variant = stocked_variant(store=4, warehouse=6, sku="TEE")
    return {
        level.location.code: level
        for level in StockLevel.objects.filter(variant=variant).select_related("location")
    }


def live(client, ids, since=None):
    query = {"ids": ",".join(str(i) for i in ids)}
    if since is not None:
        query["since"] = since
    return client.get(LIVE, query)


def test_the_change_list_loads_the_script_with_the_ids_of_its_rows_in_order(stock_viewer, levels):
    # By on hand, ascending: not the default order (newest first).
    page = stock_viewer.get(CHANGELIST, {"o": "2"}).content.decode()

    assert "inventory/live_stock.js" in page
    assert "inventory/live_stock.css" in page
    source = re.search(r'<div id="live-stock"[^>]*>', page, re.S).group(0)
    assert f'data-url="{reverse("admin:inventory_stocklevel_live")}"' in source
    rows = re.findall(r"<tr><th[^>]*><a href=\"/admin/inventory/stocklevel/(\d+)/change/", page)
    assert rows == [str(levels["paris"].pk), str(levels["warehouse"].pk)]
    assert f'data-ids="{",".join(rows)}"' in source


def test_the_list_counts_reserved_units_as_every_read_does(stock_viewer, shop, levels):
    reservation = stock_reserve(
        variant_id=levels["paris"].variant_id,
        location_id=shop.store.pk,
        quantity=3,
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    page = stock_viewer.get(CHANGELIST, {"location__id__exact": shop.store.pk}).content.decode()
    assert '<td class="field-reserved_now">3</td>' in page
    assert '<td class="field-available_now">1</td>' in page

    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    page = stock_viewer.get(CHANGELIST, {"location__id__exact": shop.store.pk}).content.decode()

    assert '<td class="field-reserved_now">0</td>' in page
    assert '<td class="field-available_now">4</td>' in page


def test_the_first_poll_answers_the_figures_as_the_list_shows_them(stock_viewer, levels):
    ids = [levels["paris"].pk, levels["warehouse"].pk]
    page = stock_viewer.get(CHANGELIST).content.decode()

    response = live(stock_viewer, ids)

    assert response.status_code == 200
    answer = response.json()
    assert answer["fingerprint"] == stock_fingerprint(level_ids=ids)
    paris = answer["rows"][str(levels["paris"].pk)]
    assert set(paris) == {
        "on_hand",
        "reserved_now",
        "safety",
        "available_now",
        "incoming",
        "updated_at",
    }
    for column, text in paris.items():
        assert f'<td class="field-{column}' in page
        cells = re.findall(rf'<td class="field-{column}[^"]*">([^<]*)</td>', page)
        assert text in cells
    assert paris["on_hand"] == "4"
    assert answer["rows"][str(levels["warehouse"].pk)]["available_now"] == "6"


def test_an_unchanged_list_answers_204_for_auth_permissions_and_one_query(
    stock_viewer, levels, django_assert_max_num_queries
):
    ids = [level.pk for level in levels.values()]
    since = live(stock_viewer, ids).json()["fingerprint"]

    # session, user, the user's and their groups' permissions, the fingerprint
    with django_assert_max_num_queries(5) as captured:
        response = live(stock_viewer, ids, since)

    assert response.status_code == 204
    assert response.content == b""
    assert "md5(" in captured.captured_queries[-1]["sql"]
    assert not response.cookies


def test_a_change_anywhere_answers_the_new_figures_then_204_again(stock_viewer, shop, levels):
    ids = [levels["paris"].pk, levels["warehouse"].pk]
    since = live(stock_viewer, ids).json()["fingerprint"]

    stock_take(location_id=shop.store.pk, lines=[(levels["paris"].variant_id, 1)], reason="sale")
    answer = live(stock_viewer, ids, since).json()

    assert answer["fingerprint"] != since
    assert answer["rows"][str(levels["paris"].pk)]["on_hand"] == "3"
    assert answer["rows"][str(levels["paris"].pk)]["available_now"] == "3"
    assert live(stock_viewer, ids, answer["fingerprint"]).status_code == 204


def test_only_staff_who_may_see_stock_levels_get_the_figures(client, levels):
    ids = [levels["paris"].pk]
    for user, status in [
        (UserFactory(is_staff=True), 403),
        (UserFactory(permissions=["inventory.view_stocklevel"]), 302),  # not staff: login
    ]:
        client.force_login(user)
        assert live(client, ids).status_code == status
    client.logout()
    assert live(client, ids).status_code == 302


@pytest.mark.parametrize("ids", ["1,x", "1;2", ",".join(["1"] * 1001)])
def test_nonsense_ids_are_refused(stock_viewer, ids):
    response = stock_viewer.get(LIVE, {"ids": ids})

    assert response.status_code == 400
    assert "error" in response.json()


def test_levels_of_variants_not_shown_are_not_sent(stock_viewer, shop, levels):
    other = VariantFactory()
    stock_receive(variant_id=other.pk, location_id=shop.store.pk, quantity=2)

    answer = live(stock_viewer, [levels["paris"].pk]).json()

    assert list(answer["rows"]) == [str(levels["paris"].pk)]
