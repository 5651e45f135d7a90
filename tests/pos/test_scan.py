"""The scan action as the till's queue (pos.js) sends it, and customers without a name
on the till (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customers.models import Customer
from orders.models import Cart, CartLine, Order
from tests.factories import CustomerFactory
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db


def lines(client) -> list[tuple[str, int]]:
    token = client.session.get("pos_cart_token")
    if token is None:
        return []
    cart = Cart.objects.get(token=token)
    return list(cart.lines.order_by("id").values_list("variant__sku", "quantity"))


# --- The scan action ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["", "   ", "\t"])
def test_an_empty_code_is_refused_inline_and_changes_nothing(till, tee, code):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    before = list(CartLine.objects.values_list("id", "variant_id", "quantity"))

    response = till.post(SELL, {"action": "scan", "code": code}, **HX)

    assert response.status_code == 422
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="workspace"')
    assert "Scan a barcode or type a product name." in page
    assert 'role="alert"' in page
    assert list(CartLine.objects.values_list("id", "variant_id", "quantity")) == before


def test_a_scan_without_its_code_field_is_refused_the_same_way(till, tee):
    response = till.post(SELL, {"action": "scan"}, **HX)

    assert response.status_code == 422
    assert "Scan a barcode or type a product name." in response.content.decode()
    assert not CartLine.objects.exists()


def test_a_scan_sent_again_with_its_id_is_counted_once(till, tee, scarf):
    """The queue retries a scan whose answer never came: the server may have counted it."""
    first = "a1" * 16
    for _ in range(3):
        response = till.post(SELL, {"action": "scan", "code": tee.barcode, "scan": first}, **HX)
        assert response.status_code == 200
    till.post(SELL, {"action": "scan", "code": tee.barcode, "scan": "b2" * 16}, **HX)
    till.post(SELL, {"action": "scan", "code": scarf.barcode, "scan": "c3" * 16}, **HX)

    assert lines(till) == [("TEE-NAVY-M", 2), ("SCARF-RED", 1)]


def test_the_same_code_scanned_twice_counts_twice(till, tee):
    for scan_id in ("d4" * 16, "e5" * 16):
        till.post(SELL, {"action": "scan", "code": tee.barcode, "scan": scan_id}, **HX)

    assert lines(till) == [("TEE-NAVY-M", 2)]


@pytest.mark.parametrize("scan_id", ["", "short", "X" * 32, "a1" * 40, "a1" * 16 + "\n"])
def test_a_scan_id_not_of_the_queues_shape_is_ignored(till, tee, scan_id):
    for _ in range(2):
        till.post(SELL, {"action": "scan", "code": tee.barcode, "scan": scan_id}, **HX)

    assert lines(till) == [("TEE-NAVY-M", 2)]


def test_a_refused_scan_is_not_remembered(till, tee):
    """An unknown code is answered (422) and not counted: the same id is not swallowed."""
    scan_id = "f6" * 16
    response = till.post(SELL, {"action": "scan", "code": "4006381333931", "scan": scan_id}, **HX)
    assert response.status_code == 422
    assert scan_id not in till.session.get("pos_scans", [])


def test_only_the_latest_scan_ids_are_kept(till, tee):
    for n in range(55):
        till.post(SELL, {"action": "scan", "code": tee.barcode, "scan": f"{n:032x}"}, **HX)

    kept = till.session["pos_scans"]
    assert len(kept) == 50
    assert kept[-1] == f"{54:032x}"
    assert lines(till) == [("TEE-NAVY-M", 55)]


def test_a_scan_the_page_posts_without_htmx_still_adds(till, tee):
    """Without pos.js the scan form posts itself, as a plain form."""
    response = till.post(SELL, {"action": "scan", "code": tee.barcode})

    assert response.status_code == 302
    assert lines(till) == [("TEE-NAVY-M", 1)]


def test_the_sell_page_has_the_queue_indicator_and_its_sentences(till):
    page = till.get(SELL).content.decode()

    assert 'id="scan-queue"' in page
    assert 'data-one="{n} scan waiting"' in page
    assert 'data-other="{n} scans waiting"' in page
    assert "the scans are kept and sent again" in page


# --- A customer a seller can name ---------------------------------------------------------


def test_display_name_is_the_full_name_when_there_is_one():
    assert Customer(first_name="Camille", last_name="Martin").display_name == "Camille Martin"
    assert Customer(first_name="", last_name="Martin").display_name == "Martin"
    assert Customer(first_name="Camille", last_name=" ").display_name == "Camille"


def test_display_name_falls_back_to_the_phone_as_written_at_home_then_the_email():
    assert Customer(phone="+33781223344", email="x@example.com").display_name == "07 81 22 33 44"
    assert Customer(phone="+442079460958").display_name == "+44 20 7946 0958"
    assert Customer(email="camille@example.com").display_name == "camille@example.com"


def test_display_name_of_an_erased_customer_is_a_number():
    customer = CustomerFactory(first_name="", last_name="", email=None, phone="+33611111111")
    customer.phone = None
    customer.erased_at = datetime(2026, 1, 1, tzinfo=UTC)
    customer.save()

    assert customer.display_name == f"Customer {customer.pk}"


def test_identifying_with_a_phone_only_names_the_customer_by_it(till, tee):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)

    response = till.post(SELL, {"action": "identify", "phone": "07 81 22 33 44"}, **HX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cart now belongs to 07 81 22 33 44." in page
    assert "Cart now belongs to ." not in page


def test_the_receipt_of_a_nameless_customer_says_who_it_is_for(till, tee):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    till.post(SELL, {"action": "identify", "phone": "07 81 22 33 44"}, **HX)

    response = till.post(SELL, {"action": "complete", "tendered": "20"}, **HX)

    page = response.content.decode()
    assert Order.objects.get().customer.first_name == ""
    assert '<p class="for">For 07 81 22 33 44</p>' in page


def test_the_receipt_of_a_named_customer_keeps_their_name(till, tee, camille):
    till.post(SELL, {"action": "scan", "code": tee.barcode}, **HX)
    till.post(SELL, {"action": "identify", "phone": "06 12 34 56 78"}, **HX)

    response = till.post(SELL, {"action": "complete", "tendered": "20"}, **HX)

    assert '<p class="for">For Camille Martin</p>' in response.content.decode()
