"""Selling an item the books say is not here (issue 12), in the stock services: the store's
policy, the override and its approval, the ledger row, the level below zero and its alert,
the quantity bound, the database's own refusal of any other negative stock, and the same
locks under real concurrent connections."""

import threading

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Sum

from inventory import locks
from inventory.exceptions import InsufficientStock, UnbookedSaleInvalid, UnbookedSaleRefused
from inventory.models import ChannelStock, Location, StockAlert, StockLevel, StockMovement
from inventory.models import UnbookedSale as Override
from inventory.services.reservations import stock_reserve
from inventory.services.stock import channel_stock_refresh, stock_receive, stock_sell
from inventory.services.unbooked import below_zero_alerts_resolve, unbooked_sale_grant
from tests.factories import LocationFactory, UserFactory
from unicommerce.channels.models import SalesChannel

Policy = Location.UnbookedSalePolicy


@pytest.fixture
def manager(shop):
    user = UserFactory(username="manon", role="store_manager")
    shop.store.staff.add(user)
    return user


def grant(shop, variant, *, quantity=1, approver=None, reason="misplaced", note="", ref="line:1"):
    return unbooked_sale_grant(
        variant_id=variant.pk,
        location=shop.store,
        quantity=quantity,
        reason=reason,
        note=note,
        reference=ref,
        seller=shop.seller,
        approver=approver,
    )


def level(shop, variant):
    return StockLevel.objects.get(variant=variant, location=shop.store)


def test_the_default_policy_asks_for_a_manager_of_the_store(shop, stocked_variant, manager):
    assert shop.store.unbooked_sale_policy == Policy.APPROVAL
    variant = stocked_variant()

    with pytest.raises(UnbookedSaleRefused, match="manager's approval"):
        grant(shop, variant)
    sale = grant(shop, variant, approver=manager)

    assert (sale.status, sale.approver, sale.seller, sale.quantity) == (
        "granted",
        manager,
        shop.seller,
        1,
    )


def test_refuse_policy_grants_nothing_even_with_a_manager(shop, stocked_variant, manager):
    shop.store.unbooked_sale_policy = Policy.REFUSE
    shop.store.save()
    variant = stocked_variant()

    with pytest.raises(UnbookedSaleRefused, match="does not sell items"):
        grant(shop, variant, approver=manager)
    assert not Override.objects.exists()


def test_reason_policy_needs_no_manager_and_names_none(shop, stocked_variant, manager):
    shop.store.unbooked_sale_policy = Policy.REASON
    shop.store.save()
    variant = stocked_variant()

    sale = grant(shop, variant, approver=manager, reason="not_counted")

    assert (sale.approver, sale.reason) == (None, "not_counted")


def test_a_reason_is_required_and_other_says_why(shop, stocked_variant, manager):
    variant = stocked_variant()

    with pytest.raises(UnbookedSaleInvalid):
        grant(shop, variant, approver=manager, reason="")
    with pytest.raises(UnbookedSaleInvalid, match="few words"):
        grant(shop, variant, approver=manager, reason="other", note="  ")
    assert not Override.objects.exists()
    sale = grant(shop, variant, approver=manager, reason="other", note="Found in the back room")
    assert sale.note == "Found in the back room"


def test_another_stores_manager_and_the_seller_themself_cannot_approve(shop, stocked_variant):
    variant = stocked_variant()
    lyon = LocationFactory(code="lyon", name="Lyon", kind="store")
    lyon_manager = UserFactory(username="lea", role="store_manager")
    lyon.staff.add(lyon_manager)
    seller_manager = UserFactory(username="sam", role="store_manager")
    shop.store.staff.add(seller_manager)

    with pytest.raises(UnbookedSaleRefused, match="may not approve"):
        grant(shop, variant, approver=lyon_manager)
    with pytest.raises(UnbookedSaleRefused, match="may not approve"):
        grant(shop, variant, approver=UserFactory(role="seller"))
    with pytest.raises(UnbookedSaleRefused, match="own sale"):
        unbooked_sale_grant(
            variant_id=variant.pk,
            location=shop.store,
            quantity=1,
            reason="misplaced",
            note="",
            reference="line:1",
            seller=seller_manager,
            approver=seller_manager,
        )
    assert not Override.objects.exists()


def test_head_office_approves_at_any_store(shop, stocked_variant):
    variant = stocked_variant()
    head = UserFactory(username="hq", role="head_office")

    assert grant(shop, variant, approver=head).approver == head


def test_the_approved_sale_goes_below_zero_with_its_ledger_row_and_an_alert(
    shop, stocked_variant, manager
):
    variant = stocked_variant()  # the books say none here
    sale = grant(shop, variant, approver=manager, reason="delivery_not_booked")

    (movement,) = stock_sell(
        location_id=shop.store.pk,
        lines=[(variant.pk, 1)],
        user=shop.seller,
        source=shop.register,
        unbooked_sale_ids={variant.pk: sale.pk},
    )

    assert level(shop, variant).on_hand == -1
    assert (movement.quantity, movement.on_hand_after, movement.reason) == (-1, -1, "sale")
    assert (movement.unbooked_sale, movement.created_by) == (sale, shop.seller)
    assert movement.source_id == str(shop.register.pk)
    assert movement.note == (
        "Not in the books (delivery not booked), sold by seller, approved by manon"
    )
    sale.refresh_from_db()
    assert sale.status == "used"
    assert sale.used_at is not None
    assert sale.used_xid
    alert = StockAlert.objects.get()
    assert (alert.kind, alert.variant, alert.location, alert.available) == (
        "below_zero",
        variant,
        shop.store,
        -1,
    )
    assert alert.resolved_at is None


def test_the_override_is_bounded_by_the_approved_units(shop, stocked_variant, manager):
    variant = stocked_variant(store=1)
    sale = grant(shop, variant, approver=manager, quantity=1)

    with pytest.raises(InsufficientStock) as refused:
        stock_sell(
            location_id=shop.store.pk,
            lines=[(variant.pk, 3)],
            unbooked_sale_ids={variant.pk: sale.pk},
        )

    assert refused.value.available == 2  # one in the books, one approved
    assert level(shop, variant).on_hand == 1
    sale.refresh_from_db()
    assert sale.status == "granted"
    assert StockMovement.objects.filter(variant=variant).count() == 1  # the receipt
    assert not StockAlert.objects.exists()

    stock_sell(
        location_id=shop.store.pk, lines=[(variant.pk, 2)], unbooked_sale_ids={variant.pk: sale.pk}
    )
    assert level(shop, variant).on_hand == -1


def test_units_already_below_zero_are_not_free_again(shop, stocked_variant, manager):
    variant = stocked_variant()
    first = grant(shop, variant, approver=manager, ref="line:1")
    stock_sell(
        location_id=shop.store.pk, lines=[(variant.pk, 1)], unbooked_sale_ids={variant.pk: first.pk}
    )
    second = grant(shop, variant, approver=manager, ref="line:2")

    with pytest.raises(InsufficientStock):
        stock_sell(location_id=shop.store.pk, lines=[(variant.pk, 1)])  # without it
    stock_sell(
        location_id=shop.store.pk,
        lines=[(variant.pk, 1)],
        unbooked_sale_ids={variant.pk: second.pk},
    )

    assert level(shop, variant).on_hand == -2
    assert StockAlert.objects.get().available == -2  # one open alert, its latest figure


def test_an_override_is_used_once(shop, stocked_variant, manager):
    variant = stocked_variant()
    sale = grant(shop, variant, approver=manager)
    stock_sell(
        location_id=shop.store.pk, lines=[(variant.pk, 1)], unbooked_sale_ids={variant.pk: sale.pk}
    )

    with pytest.raises(UnbookedSaleRefused, match="already used"):
        stock_sell(
            location_id=shop.store.pk,
            lines=[(variant.pk, 1)],
            unbooked_sale_ids={variant.pk: sale.pk},
        )
    assert level(shop, variant).on_hand == -1


def test_a_new_override_of_the_line_voids_the_previous_one(shop, stocked_variant, manager):
    variant = stocked_variant()
    old = grant(shop, variant, approver=manager, quantity=1)
    new = grant(shop, variant, approver=manager, quantity=2)

    old.refresh_from_db()
    assert (old.status, new.status) == ("void", "granted")
    with pytest.raises(UnbookedSaleRefused):
        stock_sell(
            location_id=shop.store.pk,
            lines=[(variant.pk, 1)],
            unbooked_sale_ids={variant.pk: old.pk},
        )


def test_the_other_lines_of_the_sale_keep_the_no_oversell_rule(shop, stocked_variant, manager):
    approved = stocked_variant()
    short = stocked_variant(store=1)
    sale = grant(shop, approved, approver=manager)

    with pytest.raises(InsufficientStock):
        stock_sell(
            location_id=shop.store.pk,
            lines=[(approved.pk, 1), (short.pk, 2)],
            unbooked_sale_ids={approved.pk: sale.pk},
        )

    assert not StockLevel.objects.filter(variant=approved, on_hand__lt=0).exists()
    assert level(shop, short).on_hand == 1
    sale.refresh_from_db()
    assert sale.status == "granted"
    assert not StockAlert.objects.exists()


def test_an_override_of_another_store_or_variant_is_refused(shop, stocked_variant, manager):
    variant = stocked_variant()
    other = stocked_variant()
    sale = grant(shop, variant, approver=manager)

    with pytest.raises(UnbookedSaleRefused):
        stock_sell(
            location_id=shop.store.pk, lines=[(other.pk, 1)], unbooked_sale_ids={other.pk: sale.pk}
        )
    with pytest.raises(UnbookedSaleRefused):
        stock_sell(
            location_id=shop.warehouse.pk,
            lines=[(variant.pk, 1)],
            unbooked_sale_ids={variant.pk: sale.pk},
        )
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()


def test_the_database_refuses_going_below_zero_without_a_used_override(
    shop, stocked_variant, manager
):
    variant = stocked_variant(store=1)
    grant(shop, variant, approver=manager)  # granted, but not used in this transaction

    with pytest.raises(IntegrityError, match="below zero"), transaction.atomic():
        locks.stock_level_take_unbooked(
            variant_id=variant.pk, location_id=shop.store.pk, quantity=2, allowance=1
        )
    with pytest.raises(IntegrityError, match="more than"), transaction.atomic():
        StockLevel.objects.filter(variant=variant, location=shop.store).update(reserved=2)
    assert (level(shop, variant).on_hand, level(shop, variant).reserved) == (1, 0)


def test_reserved_units_stay_promised_and_channels_never_count_below_zero(
    shop, stocked_variant, manager
):
    variant = stocked_variant(store=1, warehouse=3)
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=1, expires_at=None)
    sale = grant(shop, variant, approver=manager)
    stock_sell(
        location_id=shop.store.pk, lines=[(variant.pk, 1)], unbooked_sale_ids={variant.pk: sale.pk}
    )

    store_level = level(shop, variant)
    assert (store_level.on_hand, store_level.reserved, store_level.available) == (0, 1, 0)
    channel_stock_refresh(variant_ids=[variant.pk])
    web = ChannelStock.objects.get(channel=shop.web, variant=variant)
    assert web.quantity == 3  # the warehouse's units; the store counts 0, never below
    assert SalesChannel.objects.filter(pk=shop.web.pk).exists()


def test_the_alert_is_resolved_when_the_level_is_back_at_zero(shop, stocked_variant, manager):
    variant = stocked_variant()
    sale = grant(shop, variant, approver=manager, quantity=2)
    stock_sell(
        location_id=shop.store.pk, lines=[(variant.pk, 2)], unbooked_sale_ids={variant.pk: sale.pk}
    )
    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)

    assert below_zero_alerts_resolve(variant_ids=[variant.pk], location_ids=[shop.store.pk]) == 0
    stock_receive(variant_id=variant.pk, location_id=shop.store.pk, quantity=1)
    assert below_zero_alerts_resolve(variant_ids=[variant.pk], location_ids=[shop.store.pk]) == 1

    assert StockAlert.objects.get().resolved_at is not None
    total = StockMovement.objects.filter(variant=variant).aggregate(t=Sum("quantity"))["t"]
    assert level(shop, variant).on_hand == total == 0


# --- Real concurrent connections ------------------------------------------------------


def run_concurrently(count: int, work) -> list:
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as error:  # the outcome is what we assert on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_tills_approved_and_not_never_oversell_the_books(shop, stocked_variant, manager):
    """Two units in the books; eight tills sell one each at the same instant, two of them
    with an approval for one unit not in the books. Exactly the two approved units may go
    below zero: the six others share the two units the books have, never more."""
    variant = stocked_variant(store=2)
    approvals = {i: grant(shop, variant, approver=manager, ref=f"line:{i}").pk for i in (0, 1)}

    def till(index: int):
        unbooked = {variant.pk: approvals[index]} if index in approvals else None
        return stock_sell(
            location_id=shop.store.pk, lines=[(variant.pk, 1)], unbooked_sale_ids=unbooked
        )

    outcomes = run_concurrently(8, till)

    approved = [outcomes[i] for i in approvals]
    plain = [o for i, o in enumerate(outcomes) if i not in approvals]
    assert all(isinstance(o, list) for o in approved), approved
    assert sum(isinstance(o, list) for o in plain) <= 2
    assert all(isinstance(o, list | InsufficientStock) for o in plain), plain
    sold = sum(isinstance(o, list) for o in outcomes)
    final = level(shop, variant).on_hand
    assert final == 2 - sold >= -2
    ledger = StockMovement.objects.filter(variant=variant, location=shop.store)
    assert ledger.aggregate(t=Sum("quantity"))["t"] == final
    assert not ledger.filter(on_hand_after__lt=0, unbooked_sale__isnull=True).exists()
    assert Override.objects.filter(status="used").count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_baskets_with_overrides_in_opposite_orders_do_not_deadlock(
    shop, stocked_variant, manager
):
    a = stocked_variant(store=20)
    b = stocked_variant(store=20)
    overrides = [
        grant(shop, a if i % 2 else b, approver=manager, ref=f"line:{i}") for i in range(10)
    ]

    def basket(index: int):
        override = overrides[index]
        lines = [(a.pk, 1), (b.pk, 1)] if index % 2 else [(b.pk, 1), (a.pk, 1)]
        return stock_sell(
            location_id=shop.store.pk,
            lines=lines,
            unbooked_sale_ids={override.variant_id: override.pk},
        )

    outcomes = run_concurrently(10, basket)

    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert level(shop, a).on_hand == 10
    assert level(shop, b).on_hand == 10
