"""The customer's page opens on the 360° view (issue 12): the panels come first, outside
the form, and the form still saves."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    )
    return client


def test_the_360_view_comes_before_the_form(admin_client, make_customer, make_order, shop):
    customer = make_customer()
    order = make_order(customer, "60.00", channel=shop.web)

    html = admin_client.get(
        reverse("admin:customers_customer_change", args=[customer.pk])
    ).content.decode()

    view, form = html.index('id="customer-360"'), html.index('id="customer_form"')
    assert view < form
    assert html.index(order.reference) < form  # the orders panel, above the form
    # Outside the form (the panels may carry their own links and forms): before the
    # block that holds it.
    assert view < html.index('<div id="content-main">') < form


def test_the_form_below_the_360_view_still_saves(admin_client, make_customer):
    customer = make_customer(email="old@example.com")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = {
        "first_name": "Ana",
        "last_name": "Lima",
        "email": "new@example.com",
        "phone": "",
        "tags": "",
        "source_channel": "",
        "sms_marketing": "",
        "email_marketing": "",
    }
    for prefix in ("addresses", "consents", "notes"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:1500]
    assert Customer.objects.get(pk=customer.pk).email == "new@example.com"
