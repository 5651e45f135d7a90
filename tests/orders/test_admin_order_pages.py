"""The order list and page a manager reads (issue 12): a payment status column and filter,
a list narrow enough to read, the shipping address as a postal address, the timeline and
the payment method in words — in English and in French."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orders.admin import event_description, postal_address
from orders.models import Fulfilment, Order, OrderEvent
from orders.states import order_payment_status_set
from tests.orders.fixtures_fulfilment import *  # noqa: F403

SHIP = Fulfilment.SHIP

ADDRESS = {
    "first_name": "Élodie",
    "last_name": "Fournier",
    "line1": "12 rue des Petites-Écuries",
    "line2": "Bâtiment B",
    "postal_code": "75010",
    "city": "Paris",
    "country": "FR",
    "phone": "+33612345678",
}


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def two_orders(shop, stocked_variant, make_order):
    shirt = stocked_variant(warehouse=5, sku="TEE-RED")
    paid = make_order(lines=[(shirt, 1, SHIP, shop.warehouse)])
    unpaid = make_order(lines=[(shirt, 2, SHIP, shop.warehouse)])
    order_payment_status_set(order=paid, status=Order.PaymentStatus.PAID)
    Order.objects.filter(pk=paid.pk).update(shipping_address=ADDRESS, payment_method="pay_in_store")
    paid.refresh_from_db()
    return paid, unpaid


def listed(admin_client, query: str = "") -> list[Order]:
    response = admin_client.get(reverse("admin:orders_order_changelist") + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_order_list_filters_by_payment_status(admin_client, two_orders):
    paid, unpaid = two_orders

    assert listed(admin_client, "?payment_status__exact=paid") == [paid]
    assert listed(admin_client, "?payment_status__exact=unpaid") == [unpaid]
    assert listed(admin_client, "?payment_status__exact=refunded") == []


def test_the_order_list_has_seven_readable_columns_with_the_payment_status(
    admin_client, two_orders
):
    paid, _unpaid = two_orders

    page = admin_client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    headers = [str(h["text"]) for h in page.context["result_headers"][1:]]  # after the box
    assert headers == [
        "reference",
        "Date",
        "customer",
        "channel",
        "status",
        "payment",
        "Total",  # incl. VAT, as every amount here
    ]
    assert paid.reference in html
    assert "€" in html  # the total carries its currency; no separate column
    assert '<td class="field-payment_status">paid</td>' in html
    assert 'href="?payment_status__exact=partially_paid"' in html  # the filter


def test_the_order_list_speaks_french(admin_client, two_orders):
    page = admin_client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="fr")

    headers = [str(h["text"]) for h in page.context["result_headers"][1:]]
    assert headers[0] == "référence"
    assert headers[4:6] == ["statut", "paiement"]
    assert '<td class="field-payment_status">payé</td>' in page.content.decode()


def test_the_shipping_address_is_a_postal_address_not_json(admin_client, two_orders):
    paid, _unpaid = two_orders

    page = admin_client.get(
        reverse("admin:orders_order_change", args=[paid.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    html = page.content.decode()
    assert (
        '<address class="postal-address">Élodie Fournier<br>12 rue des Petites-Écuries<br>'
        "Bâtiment B<br>75010 Paris<br>France<br>06 12 34 56 78</address>"
    ) in html
    assert '"postal_code"' not in html
    assert "&quot;postal_code&quot;" not in html


def test_a_postal_address_names_the_country_in_the_page_language():
    from django.utils import translation

    belgian = {**ADDRESS, "country": "BE", "line2": "", "phone": ""}
    with translation.override("fr"):
        french = postal_address(belgian)
    with translation.override("en"):
        english = postal_address(belgian)

    assert french.endswith("75010 Paris<br>Belgique</address>")
    assert english.endswith("75010 Paris<br>Belgium</address>")
    assert postal_address(None) == "—"
    assert "<script>" not in postal_address({**ADDRESS, "line1": "<script>x</script>"})


def test_the_payment_method_and_statuses_are_labels_not_codes(admin_client, two_orders):
    paid, _unpaid = two_orders

    page = admin_client.get(
        reverse("admin:orders_order_change", args=[paid.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    html = page.content.decode()
    assert "Pay in store" in html
    assert "pay_in_store" not in html
    assert "Order lines" in html  # the inline's heading (was "order lines" untranslated)
    assert ">Reference:<" in html
    assert ">Cart:<" in html
    assert ">Payment:<" in html  # the payment status is on the page


def test_the_timeline_says_what_happened_in_words(admin_client, two_orders):
    paid, _unpaid = two_orders
    OrderEvent.objects.create(
        order=paid, kind="status", from_status="processing", to_status="partially_fulfilled"
    )
    OrderEvent.objects.create(order=paid, kind="shipment_shipped", message="With DHL.")

    page = admin_client.get(
        reverse("admin:orders_order_change", args=[paid.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    what = re.findall(r'<td class="field-what">\s*<p>(.*?)</p>', page.content.decode())
    assert what == [
        "Placed",
        "Payment: Unpaid → Paid",
        "Status: Processing → Partially fulfilled",
        "Shipped",
    ]


def test_timeline_words_follow_the_language_and_unknown_kinds_stay_readable():
    from django.utils import translation

    moved = OrderEvent(kind="status", from_status="placed", to_status="partially_fulfilled")
    with translation.override("fr"):
        assert event_description(moved).endswith(": Passée → Partiellement exécutée")
    assert event_description(OrderEvent(kind="gift_wrapped")) == "Gift wrapped"
    assert event_description(OrderEvent(kind="shipment_taken")) == "Taken at the till"
