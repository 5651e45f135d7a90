"""The back-office pages of transfers and stock counts: they open, their actions call the
services, and a refusal is a message or a form error (never a server error), with
nothing changed."""

import pytest
from django.urls import reverse

from inventory.models import (
    Location,
    StockCount,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.services.counts import count_record, count_start
from inventory.services.transfers import transfer_create, transfer_receive, transfer_ship
from tests.factories import UserFactory


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def goods(shop, stocked_variant):
    return {
        "TEE": stocked_variant(warehouse=10, store=5, sku="TEE"),
        "CAP": stocked_variant(warehouse=1, store=3, sku="CAP"),
    }


def url(name: str, *args) -> str:
    return reverse(f"admin:inventory_{name}", args=args)


def shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def level(variant, location) -> tuple[int, int]:
    found = StockLevel.objects.filter(variant=variant, location=location).first()
    return (found.on_hand, found.incoming) if found else (0, 0)


def snapshot() -> tuple:
    return (
        sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand", "incoming")),
        StockMovement.objects.count(),
        sorted(Transfer.objects.values_list("pk", "status")),
        sorted(TransferLine.objects.values_list("variant_id", "quantity", "quantity_received")),
        sorted(StockCount.objects.values_list("pk", "status")),
        sorted(
            StockCount.objects.values_list("lines__variant_id", "lines__expected", "lines__counted")
        ),
    )


def draft(shop, goods, **quantities):
    quantities = quantities or {"TEE": 4}
    return transfer_create(
        from_location=shop.warehouse,
        to_location=shop.store,
        lines=[(goods[sku].pk, q) for sku, q in quantities.items()],
    )


# --------------------------------------------------------------------------- transfers


def test_the_transfer_pages_open(admin_client, shop, goods):
    waiting = draft(shop, goods)
    travelling = transfer_ship(transfer=draft(shop, goods, CAP=1))

    pages = {
        "list": admin_client.get(url("transfer_changelist")),
        "search": admin_client.get(url("transfer_changelist"), {"q": "CAP"}),
        "filter": admin_client.get(url("transfer_changelist"), {"status__exact": "shipped"}),
        "new": admin_client.get(url("transfer_add")),
        "draft": admin_client.get(url("transfer_change", waiting.pk)),
        "shipped": admin_client.get(url("transfer_change", travelling.pk)),
        "receive": admin_client.get(url("transfer_receive", travelling.pk)),
    }

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    assert list(pages["search"].context["cl"].result_list) == [travelling]
    assert list(pages["filter"].context["cl"].result_list) == [travelling]
    draft_page = pages["draft"].content.decode()
    assert 'name="lines-0-quantity"' in draft_page  # a draft's lines are editable
    assert url("transfer_transition", waiting.pk, "ship") in draft_page
    assert url("transfer_transition", waiting.pk, "cancel") in draft_page
    shipped_page = pages["shipped"].content.decode()
    assert 'name="lines-0-quantity"' not in shipped_page  # shipped: read only
    assert url("transfer_receive", travelling.pk) in shipped_page
    assert url("transfer_transition", travelling.pk, "close") in shipped_page
    assert url("transfer_transition", travelling.pk, "ship") not in shipped_page
    assert 'name="line_' in pages["receive"].content.decode()


def test_a_transfer_is_drafted_from_scanned_and_typed_lines(admin_client, shop, goods):
    tee_barcode = goods["TEE"].barcode

    response = admin_client.post(
        url("transfer_add"),
        {
            "from_location": shop.warehouse.pk,
            "to_location": shop.store.pk,
            "lines": f"{tee_barcode}\n{tee_barcode}\n\nTEE 3\ncap*1\n",
            "note": "for the weekend",
        },
    )

    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("transfer_change", transfer.pk)
    assert (transfer.status, transfer.note, transfer.created_by.username) == (
        "draft",
        "for the weekend",
        "boss",
    )
    assert sorted(transfer.lines.values_list("variant__sku", "quantity")) == [
        ("CAP", 1),
        ("TEE", 5),
    ]


@pytest.mark.parametrize(
    ("to_location", "lines", "error"),
    [
        ("store", "TEE 1\nNOPE 2", "Line 2: No product has the barcode or SKU “NOPE”."),
        ("store", "TEE many", "Line 1: write a code, then a whole number (“TEE many”)."),
        ("store", "TEE 0", "Quantity must be a whole number above zero (got 0)."),
        ("warehouse", "TEE 1", "A transfer goes from one location to another; both are Warehouse."),
    ],
)
def test_a_new_transfer_that_makes_no_sense_is_a_form_error(
    admin_client, shop, goods, to_location, lines, error
):
    before = snapshot()

    response = admin_client.post(
        url("transfer_add"),
        {
            "from_location": shop.warehouse.pk,
            "to_location": getattr(shop, to_location).pk,
            "lines": lines,
        },
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert snapshot() == before


def test_the_ship_action_ships_the_selected_drafts(admin_client, shop, goods):
    transfer = draft(shop, goods, TEE=4)

    response = admin_client.post(
        url("transfer_changelist"),
        {"action": "ship_transfers", "_selected_action": [transfer.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert shown(response) == [f"{transfer} is now shipped."]
    transfer.refresh_from_db()
    assert transfer.status == "shipped"
    assert level(goods["TEE"], shop.warehouse) == (6, 0)
    assert level(goods["TEE"], shop.store) == (5, 4)


def test_shipping_without_the_stock_is_an_admin_message_and_nothing_moves(
    admin_client, shop, goods
):
    short = draft(shop, goods, TEE=2, CAP=3)
    before = snapshot()

    response = admin_client.post(
        url("transfer_changelist"),
        {"action": "ship_transfers", "_selected_action": [short.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert shown(response) == [f"{short}: Only 1 of CAP available at Warehouse; 3 requested."]
    assert snapshot() == before


def test_the_receive_page_records_a_partial_receipt(admin_client, shop, goods):
    transfer = transfer_ship(transfer=draft(shop, goods, TEE=4, CAP=1))
    tee, cap = goods["TEE"], goods["CAP"]
    tee_line, cap_line = (transfer.lines.get(variant=v) for v in (tee, cap))

    page = admin_client.get(url("transfer_receive", transfer.pk))
    response = admin_client.post(
        url("transfer_receive", transfer.pk),
        {f"line_{tee_line.pk}": "3", f"line_{cap_line.pk}": "0"},
        follow=True,
    )

    assert [field.initial for field in page.context["form"].fields.values()] == [4, 1]
    assert response.redirect_chain == [(url("transfer_change", transfer.pk), 302)]
    assert shown(response) == [f"{transfer}: receipt recorded, now partially received."]
    transfer.refresh_from_db()
    assert transfer.status == "partially_received"
    assert level(tee, shop.store) == (8, 1)
    assert level(cap, shop.store) == (3, 1)


def test_receiving_more_than_outstanding_on_the_page_is_a_field_error(admin_client, shop, goods):
    transfer = transfer_ship(transfer=draft(shop, goods, TEE=4))
    transfer_receive(transfer=transfer, quantities={goods["TEE"].pk: 1})
    before = snapshot()

    line = transfer.lines.get()
    response = admin_client.post(url("transfer_receive", transfer.pk), {f"line_{line.pk}": "4"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        f"line_{line.pk}": ["Only 3 of TEE are still expected; 4 received."]
    }
    assert snapshot() == before


def test_the_receive_page_of_a_draft_sends_back_with_a_message(admin_client, shop, goods):
    transfer = draft(shop, goods)

    response = admin_client.get(url("transfer_receive", transfer.pk), follow=True)

    assert response.redirect_chain == [(url("transfer_change", transfer.pk), 302)]
    assert shown(response) == [f"{transfer} is draft: there is nothing to receive."]


def test_receive_everything_then_close_and_cancel_from_the_buttons(admin_client, shop, goods):
    everything = transfer_ship(transfer=draft(shop, goods, TEE=2))
    lost = transfer_ship(transfer=draft(shop, goods, TEE=3))
    dropped = draft(shop, goods)

    received = admin_client.post(
        url("transfer_transition", everything.pk, "receive_all"), follow=True
    )
    closed = admin_client.post(url("transfer_transition", lost.pk, "close"), follow=True)
    cancelled = admin_client.post(url("transfer_transition", dropped.pk, "cancel"), follow=True)
    closed_again = admin_client.post(url("transfer_transition", lost.pk, "close"), follow=True)

    assert shown(received) == [f"{everything} is now received."]
    assert shown(closed) == [f"{lost} is now closed with discrepancy."]
    assert shown(cancelled) == [f"{dropped} is now cancelled."]
    assert shown(closed_again) == [
        f"{lost}: {lost} is closed with discrepancy: it can be closed only when shipped or "
        "partially received."
    ]
    assert list(lost.lines.values_list("discrepancy", flat=True)) == [3]
    assert level(goods["TEE"], shop.store) == (7, 0)
    assert level(goods["TEE"], Location.objects.get(code="transit")) == (0, 0)
    assert admin_client.get(url("transfer_transition", lost.pk, "close")).status_code == 405


def test_the_receive_and_close_actions_of_the_list(admin_client, shop, goods):
    first = transfer_ship(transfer=draft(shop, goods, TEE=2))
    second = transfer_ship(transfer=draft(shop, goods, TEE=1))

    received = admin_client.post(
        url("transfer_changelist"),
        {"action": "receive_transfers", "_selected_action": [first.pk]},
        follow=True,
    )
    response = admin_client.post(
        url("transfer_changelist"),
        {"action": "close_transfers", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert shown(received) == [f"{first} is now received."]
    assert shown(response) == [
        f"{first}: {first} is received: it can be closed only when shipped or partially received.",
        f"{second} is now closed with discrepancy.",
    ]
    assert sorted(Transfer.objects.values_list("pk", "status")) == [
        (first.pk, "received"),
        (second.pk, "closed"),
    ]


def test_the_lines_of_a_draft_are_edited_through_the_inline(admin_client, shop, goods):
    transfer = draft(shop, goods, TEE=4)
    line = transfer.lines.get()

    response = admin_client.post(
        url("transfer_change", transfer.pk),
        {
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk,
            "lines-0-transfer": transfer.pk,
            "lines-0-variant": goods["TEE"].pk,
            "lines-0-quantity": "6",
            "lines-1-id": "",
            "lines-1-transfer": transfer.pk,
            "lines-1-variant": goods["CAP"].pk,
            "lines-1-quantity": "1",
            "_continue": "1",
        },
    )

    assert response.status_code == 302
    assert sorted(transfer.lines.values_list("variant__sku", "quantity")) == [
        ("CAP", 1),
        ("TEE", 6),
    ]

    admin_client.post(
        url("transfer_change", transfer.pk),
        {
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            **{
                f"lines-{i}-{field}": value
                for i, ln in enumerate(transfer.lines.order_by("id"))
                for field, value in {
                    "id": ln.pk,
                    "transfer": transfer.pk,
                    "variant": ln.variant_id,
                    "quantity": ln.quantity,
                }.items()
            },
            "lines-1-DELETE": "on",
        },
    )

    assert list(transfer.lines.values_list("variant__sku", "quantity")) == [("TEE", 6)]


# --------------------------------------------------------------------------- counts


def test_the_count_pages_open(admin_client, shop, goods):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="TEE", quantity=4)

    pages = {
        "list": admin_client.get(url("stockcount_changelist")),
        "search": admin_client.get(url("stockcount_changelist"), {"q": "TEE"}),
        "start": admin_client.get(url("stockcount_add")),
        "change": admin_client.get(url("stockcount_change", count.pk)),
        "scan": admin_client.get(url("stockcount_scan", count.pk)),
        "variance": admin_client.get(url("stockcount_variance", count.pk)),
    }

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    assert list(pages["search"].context["cl"].result_list) == [count]
    change = pages["change"].content.decode()
    assert url("stockcount_scan", count.pk) in change
    assert url("stockcount_variance", count.pk) in change
    assert url("stockcount_transition", count.pk, "post") in change
    assert 'name="_save"' not in change  # nothing is edited on the page itself


def test_starting_a_full_count_opens_the_scanner_page(admin_client, shop, goods):
    response = admin_client.post(
        url("stockcount_add"), {"location": shop.store.pk, "kind": "full", "note": "Q4"}
    )

    count = StockCount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("stockcount_scan", count.pk)
    assert (count.kind, count.note, count.created_by.username) == ("full", "Q4", "boss")
    assert sorted(count.lines.values_list("variant__sku", "expected", "counted")) == [
        ("CAP", 3, None),
        ("TEE", 5, None),
    ]


def test_a_cycle_count_is_started_from_scanned_codes(admin_client, shop, goods):
    response = admin_client.post(
        url("stockcount_add"),
        {"location": shop.store.pk, "kind": "cycle", "codes": f"{goods['CAP'].barcode}\n"},
    )

    count = StockCount.objects.get()
    assert response.status_code == 302
    assert list(count.lines.values_list("variant__sku", "expected")) == [("CAP", 3)]


@pytest.mark.parametrize(
    ("kind", "codes", "error"),
    [
        ("cycle", "TEE NOPE, ALSO-NOPE", "No product has the barcode or SKU “NOPE”, “ALSO-NOPE”."),
        ("cycle", "", "A cycle count needs the products to count."),
        ("full", "TEE", "A full count covers every product of the location"),
    ],
)
def test_a_count_that_makes_no_sense_is_not_started(admin_client, shop, goods, kind, codes, error):
    before = snapshot()

    response = admin_client.post(
        url("stockcount_add"), {"location": shop.store.pk, "kind": kind, "codes": codes}
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert snapshot() == before


def test_the_scanner_page_counts_one_per_scan_and_sets_a_typed_quantity(admin_client, shop, goods):
    count = count_start(location=shop.store, kind="full")
    scan_url = url("stockcount_scan", count.pk)
    tee = goods["TEE"]

    page = admin_client.get(scan_url)
    first = admin_client.post(scan_url, {"code": tee.barcode})
    admin_client.post(scan_url, {"code": tee.barcode})
    admin_client.post(scan_url, {"code": "CAP*2"})
    after = admin_client.get(first["Location"])

    assert '<input type="text" name="code"' in page.content.decode()
    assert "autofocus" in page.content.decode()
    assert first.status_code == 302
    assert first["Location"] == f"{scan_url}?last={tee.pk}"
    assert after.context["last"].counted == 2
    assert "Last scanned:" in after.content.decode()
    assert sorted(count.lines.values_list("variant__sku", "counted")) == [("CAP", 2), ("TEE", 2)]

    admin_client.post(scan_url, {"code": "TEE", "quantity": "7"})
    assert count.lines.get(variant=tee).counted == 7


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"code": "0000000000000"}, "No product has the barcode or SKU “0000000000000”."),
        ({"code": "TEE*x"}, "After * type the number counted"),
        ({"code": "TEE*-1"}, "A counted quantity is a whole number, zero or more (got -1)."),
        ({"code": ""}, "Scan a barcode or type a SKU."),
    ],
)
def test_a_scan_that_makes_no_sense_is_shown_inline_and_changes_nothing(
    admin_client, shop, goods, posted, error
):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="TEE")
    before = snapshot()

    response = admin_client.post(url("stockcount_scan", count.pk), posted)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert snapshot() == before


def test_the_variance_report_shows_each_difference_and_the_totals(admin_client, shop, goods):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="TEE", quantity=3)

    response = admin_client.get(url("stockcount_variance", count.pk))

    assert [(r.sku, r.variance, str(r.value)) for r in response.context["rows"]] == [
        ("CAP", -3, "-59.70"),
        ("TEE", -2, "-39.80"),
    ]
    assert response.context["units"] == -5
    assert [(c, str(a)) for c, a in response.context["totals"]] == [("EUR", "-99.50")]
    assert "2 lines differ" in response.content.decode()


def test_posting_from_the_count_page_writes_the_ledger_once(admin_client, shop, goods):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="TEE", quantity=5)
    count_record(count=count, code="CAP", quantity=2)

    posted = admin_client.post(url("stockcount_transition", count.pk, "post"), follow=True)
    again = admin_client.post(
        url("stockcount_changelist"),
        {"action": "post_counts", "_selected_action": [count.pk]},
        follow=True,
    )

    assert shown(posted) == [f"{count} posted; accuracy 50.00 %."]
    assert shown(again) == [f"{count}: {count} is posted: it can be posted only while counting."]
    assert list(
        StockMovement.objects.filter(source_id=str(count.pk), reason="count").values_list(
            "variant__sku", "quantity"
        )
    ) == [("CAP", -1)]
    scan_page = admin_client.get(url("stockcount_scan", count.pk)).content.decode()
    assert "nothing more can be counted" in scan_page
    assert '<input type="text" name="code"' not in scan_page


def test_the_cancel_action_cancels_open_counts(admin_client, shop, goods):
    count = count_start(location=shop.store, kind="full")

    response = admin_client.post(
        url("stockcount_changelist"),
        {"action": "cancel_counts", "_selected_action": [count.pk]},
        follow=True,
    )

    assert shown(response) == [f"{count} cancelled."]
    count.refresh_from_db()
    assert count.status == "cancelled"


def test_staff_who_may_only_look_cannot_count(client, shop, goods):
    viewer = UserFactory(
        username="viewer", permissions=["inventory.view_stockcount", "inventory.all_locations"]
    )
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)
    count = count_start(location=shop.store, kind="full")
    before = snapshot()

    page = client.get(url("stockcount_scan", count.pk))
    scan = client.post(url("stockcount_scan", count.pk), {"code": "TEE"})
    post = client.post(url("stockcount_transition", count.pk, "post"))

    assert (page.status_code, scan.status_code, post.status_code) == (200, 403, 403)
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "transfer/999999/receive/",
        "transfer/abc/receive/",
        "stockcount/999999/scan/",
        "stockcount/abc/variance/",
    ],
)
def test_a_page_of_an_unknown_document_is_a_404(admin_client, shop, path):
    assert admin_client.get(f"/admin/inventory/{path}").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("transfer/999999/do/ship/", 404),
        ("stockcount/abc/do/post/", 404),
        ("stockcount/{count}/do/nothing/", 403),
    ],
)
def test_a_button_for_an_unknown_document_or_action_changes_nothing(
    admin_client, shop, goods, path, status
):
    count = count_start(location=shop.store, kind="full")
    count_record(count=count, code="TEE", quantity=1)
    before = snapshot()

    response = admin_client.post(f"/admin/inventory/{path.format(count=count.pk)}")

    assert response.status_code == status
    assert snapshot() == before
