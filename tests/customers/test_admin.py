"""The customers back-office: search by phone in any format, segment filters, the 360°
page, CSV and GDPR exports, erase and merge with their confirmation pages, duplicates."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from customers.models import Address, Consent, Customer, CustomerNote
from customers.services.profile import address_add, consent_record

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/customers/customer/"


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def _listed(response) -> set[int]:
    return {customer.pk for customer in response.context["cl"].result_list}


def _form_data(customer=None, **changes) -> dict:
    data = {
        "first_name": "",
        "last_name": "",
        "email": "",
        "phone": "",
        "tags": "",
        "source_channel": "",
        "sms_marketing": "",
        "email_marketing": "",
    }
    if customer is not None:
        data.update(
            first_name=customer.first_name,
            last_name=customer.last_name,
            email=customer.email or "",
            phone=customer.phone or "",
            tags=", ".join(customer.tags),
        )
    for prefix, count in (("addresses", 0), ("consents", 0), ("notes", 0)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(count),
                f"{prefix}-INITIAL_FORMS": str(count),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "query", ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "12 34 56", "Durand"]
)
def test_search_finds_a_customer_by_phone_in_any_format_or_by_name(
    admin_client, make_customer, query
):
    camille = make_customer(phone="+33612345678", last_name="Durand")
    make_customer(phone="+33699999999", last_name="Martin")

    response = admin_client.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert _listed(response) == {camille.pk}


def test_search_by_email_ignores_case(admin_client, make_customer):
    camille = make_customer(email="camille@example.com")
    make_customer(email="other@example.com")

    assert _listed(admin_client.get(CHANGELIST, {"q": "Camille@EXAMPLE.com"})) == {camille.pk}


def test_filters_segments_behaviour_consent_tags_and_state(admin_client, make_customer, shop):
    loyal = make_customer(rfm_segment="loyal", behaviour="omnichannel", tags=["vip"])
    new = make_customer(rfm_segment="new", behaviour="online_only", preferred_channel=shop.web)
    merged = make_customer()
    Customer.objects.filter(pk=merged.pk).update(merged_into=loyal, email=None)
    consent_record(customer=loyal, kind="sms_marketing", granted=False, source="till")
    consent_record(customer=new, kind="sms_marketing", granted=False, source="till")
    consent_record(customer=new, kind="sms_marketing", granted=True, source="web")

    def listed(**params):
        return _listed(admin_client.get(CHANGELIST, params))

    assert listed(rfm_segment="loyal") == {loyal.pk}
    assert listed(rfm_segment="none") == {merged.pk}
    assert listed(behaviour__exact="online_only") == {new.pk}
    assert listed(preferred_channel__id__exact=shop.web.pk) == {new.pk}
    assert listed(consent="sms_marketing:yes") == {new.pk}
    assert listed(consent="sms_marketing:no") == {loyal.pk}
    assert listed(consent="sms_marketing:never") == {merged.pk}
    assert listed(tag="vip") == {loyal.pk}
    assert listed(state="merged") == {merged.pk}
    assert listed(state="live") == {loyal.pk, new.pk}


def test_the_change_page_shows_the_360_view(
    admin_client, make_customer, make_order, make_cart, make_return, shop
):
    customer = make_customer()
    web = make_order(customer, "60.00", channel=shop.web)
    store = make_order(customer, "40.00", channel=shop.store_channel)
    make_return(web, "10.00")
    make_cart(customer)

    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="customer-360"' in html
    assert '<table class="customer-orders">' in html  # the panel's HTML, not escaped
    assert "Orders, carts and returns" in html
    assert web.reference in html
    assert store.reference in html
    assert "Paris store" in html and "Web store" in html  # noqa: PT018
    assert "GDPR export (JSON)" in html


def test_adding_a_customer_normalises_the_phone_and_refuses_bad_or_taken_details(
    admin_client, make_customer
):
    make_customer(email="taken@example.com")
    add = reverse("admin:customers_customer_add")

    created = admin_client.post(
        add, _form_data(first_name="Léa", phone="06 12 34 56 78", tags="VIP, shop")
    )
    bad_phone = admin_client.post(add, _form_data(phone="06 12"))
    bad_email = admin_client.post(add, _form_data(email="nope@"))
    taken = admin_client.post(add, _form_data(email="TAKEN@example.com"))
    neither = admin_client.post(add, _form_data(first_name="Nobody"))

    assert created.status_code == 302
    lea = Customer.objects.get(first_name="Léa")
    assert (lea.phone, lea.tags) == ("+33612345678", ["shop", "vip"])
    assert bad_phone.status_code == 200
    assert "is not a valid phone number" in str(bad_phone.context["adminform"].form.errors)
    assert "valid email address" in str(bad_email.context["adminform"].form.errors)
    assert "already exists" in str(taken.context["adminform"].form.errors)
    assert "Give an email address or a phone number" in str(
        neither.context["adminform"].form.errors
    )
    assert Customer.objects.count() == 2


def test_changing_a_customer_records_a_consent_and_keeps_the_history(
    admin_client, make_customer, manager
):
    customer = make_customer()
    consent_record(customer=customer, kind="email_marketing", granted=True, source="web")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = _form_data(customer, email_marketing="withdrawn", phone="+44 20 7946 0958")
    data.update({"consents-TOTAL_FORMS": "1", "consents-INITIAL_FORMS": "1"})
    data["consents-0-id"] = str(Consent.objects.get().pk)
    data["consents-0-customer"] = str(customer.pk)

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.phone == "+442079460958"
    history = list(Consent.objects.filter(customer=customer).order_by("at", "id"))
    assert [(c.granted, c.source) for c in history] == [(True, "web"), (False, "admin")]
    assert history[-1].recorded_by == manager


def test_address_inline_normalises_its_phone_and_a_note_gets_its_author(
    admin_client, make_customer, manager
):
    customer = make_customer()
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = _form_data(customer)
    data.update(
        {
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-line1": "1 rue A",
            "addresses-0-postal_code": "75001",
            "addresses-0-city": "Paris",
            "addresses-0-country": "fr",
            "addresses-0-phone": "06 12 34 56 78",
            "notes-TOTAL_FORMS": "1",
            "notes-INITIAL_FORMS": "0",
            "notes-0-body": "Called about a return.",
        }
    )
    bad = dict(data, **{"addresses-0-phone": "12"})

    refused = admin_client.post(url, bad)
    saved = admin_client.post(url, data)

    assert refused.status_code == 200
    assert saved.status_code == 302
    address = Address.objects.get(customer=customer)
    assert (address.phone, address.country, address.is_default) == ("+33612345678", "FR", True)
    assert CustomerNote.objects.get(customer=customer).author == manager


def test_csv_export_of_the_selected_customers(admin_client, make_customer, shop):
    camille = make_customer(
        email="camille@example.com",
        phone="+33612345678",
        rfm_segment="loyal",
        rfm_recency=4,
        rfm_frequency=5,
        rfm_monetary=3,
        order_count=7,
        behaviour="omnichannel",
        preferred_channel=shop.store_channel,
        tags=["vip"],
    )
    consent_record(customer=camille, kind="sms_marketing", granted=True, source="till")
    other = make_customer()
    make_customer()  # not selected

    response = admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [camille.pk, other.pk]}
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["id"]) for r in rows] == [camille.pk, other.pk]
    first = rows[0]
    assert (first["email"], first["phone"], first["tags"]) == (
        "camille@example.com",
        "+33612345678",
        "vip",
    )
    assert (first["order_count"], first["behaviour"], first["preferred_channel"]) == (
        "7",
        "omnichannel",
        "store-paris",
    )
    assert (first["rfm_recency"], first["rfm_frequency"], first["rfm_monetary"]) == (
        "4",
        "5",
        "3",
    )
    assert (first["rfm_segment"], first["sms_marketing"], first["email_marketing"]) == (
        "loyal",
        "granted",
        "",
    )


def test_gdpr_export_downloads_json_for_one_customer(admin_client, make_customer, make_order):
    camille = make_customer(email="camille@example.com")
    make_order(camille, "12.00")

    action = admin_client.post(
        CHANGELIST, {"action": "export_gdpr", "_selected_action": [camille.pk]}
    )
    two = admin_client.post(
        CHANGELIST,
        {"action": "export_gdpr", "_selected_action": [camille.pk, make_customer().pk]},
        follow=True,
    )
    page = admin_client.get(reverse("admin:customers_customer_gdpr_export", args=[camille.pk]))

    assert action["Content-Disposition"] == f'attachment; filename="customer-{camille.pk}.json"'
    data = json.loads(action.content)
    assert data["profile"]["email"] == "camille@example.com"
    assert len(data["orders"]) == 1
    assert "Choose one customer" in two.content.decode()
    assert json.loads(page.content)["profile"]["id"] == camille.pk


def test_erase_goes_through_a_confirmation_page(admin_client, make_customer, make_order):
    camille = make_customer(email="camille@example.com", first_name="Camille")
    order = make_order(camille, "30.00")

    action = admin_client.post(
        CHANGELIST, {"action": "erase_selected", "_selected_action": [camille.pk]}
    )
    confirm_page = admin_client.get(action["Location"])
    untouched = Customer.objects.get(pk=camille.pk).email
    done = admin_client.post(
        reverse("admin:customers_customer_erase"), {"ids": str(camille.pk), "confirm": "yes"}
    )

    assert action.status_code == 302
    assert confirm_page.status_code == 200
    assert "Yes, erase" in confirm_page.content.decode()
    assert untouched == "camille@example.com"  # nothing happens before confirming
    assert done.status_code == 302
    camille.refresh_from_db()
    order.refresh_from_db()
    assert (camille.erased_at is not None, camille.email, camille.first_name) == (True, None, "")
    assert order.total_amount == 30
    assert order.email == ""


def test_erase_needs_the_delete_permission(client, make_customer, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="customers", codename__in=["view_customer", "change_customer"]
        )
    )
    client.force_login(clerk)
    camille = make_customer()

    response = client.post(
        reverse("admin:customers_customer_erase"), {"ids": str(camille.pk), "confirm": "yes"}
    )

    assert response.status_code == 403
    camille.refresh_from_db()
    assert camille.erased_at is None


def test_merge_of_two_selected_customers_chooses_the_survivor(
    admin_client, make_customer, make_order
):
    keep = make_customer(email="keep@example.com")
    drop = make_customer(email=None, phone="+33612345678")
    order = make_order(drop, "20.00")

    action = admin_client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [keep.pk, drop.pk]}
    )
    page = admin_client.get(action["Location"])
    no_choice = admin_client.post(
        reverse("admin:customers_customer_merge"), {"ids": f"{keep.pk},{drop.pk}"}
    )
    merged = admin_client.post(
        reverse("admin:customers_customer_merge"),
        {"ids": f"{keep.pk},{drop.pk}", "survivor": str(keep.pk)},
    )

    assert page.status_code == 200
    assert f'value="{keep.pk}"' in page.content.decode()
    assert no_choice.status_code == 400
    assert merged.status_code == 302
    assert merged["Location"] == reverse("admin:customers_customer_change", args=[keep.pk])
    order.refresh_from_db()
    drop.refresh_from_db()
    keep.refresh_from_db()
    assert order.customer == keep
    assert drop.merged_into == keep
    assert keep.phone == "+33612345678"


def test_merge_needs_exactly_two_customers(admin_client, make_customer):
    one = make_customer()

    response = admin_client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [one.pk]}, follow=True
    )

    assert "Choose exactly two customers to merge." in response.content.decode()
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_duplicates_page_lists_pairs_with_reasons_and_a_merge_link(admin_client, make_customer):
    first = make_customer(first_name="Eve", last_name="E", email="eve@example.com")
    second = make_customer(first_name="Eve", last_name="E", email=None, phone="+33699887766")
    address_add(customer=first, line1="1 rue A", postal_code="75001", city="Paris")

    listing = admin_client.get(CHANGELIST)
    page = admin_client.get(reverse("admin:customers_customer_duplicates"))

    html = page.content.decode()
    assert reverse("admin:customers_customer_duplicates") in listing.content.decode()
    assert page.status_code == 200
    assert "same name, one known by email, the other by phone" in html
    assert f"?ids={first.pk},{second.pk}" in html


def test_pages_of_merged_and_erased_customers_open_read_only(admin_client, make_customer):
    from crm.services.erasure import customer_erase
    from crm.services.merging import customer_merge

    keep, gone, erased = make_customer(), make_customer(), make_customer()
    customer_merge(survivor=keep, duplicate=gone)
    customer_erase(customer=erased)

    merged_page = admin_client.get(reverse("admin:customers_customer_change", args=[gone.pk]))
    erased_page = admin_client.get(reverse("admin:customers_customer_change", args=[erased.pk]))

    assert merged_page.status_code == 200
    assert "This customer was merged into" in merged_page.content.decode()
    assert 'name="email"' not in merged_page.content.decode()
    assert erased_page.status_code == 200
    assert "was erased on" in erased_page.content.decode()
    assert "Erase…" not in erased_page.content.decode()


def test_the_360_view_shows_points_store_credit_and_gift_cards(admin_client, make_customer, shop):
    from decimal import Decimal

    from loyalty.models import PointsProgramme
    from loyalty.services.gift_cards import gift_card_issue
    from loyalty.services.points import points_earn
    from loyalty.services.store_credit import store_credit_add

    PointsProgramme.objects.create(name="Club", point_value=Decimal("0.05"))
    customer = make_customer()
    points_earn(
        customer=customer,
        amount=Decimal("40.00"),
        currency="EUR",
        channel_id=shop.web.pk,
        reference="UC7",
        idempotency_key="earn-7",
    )
    store_credit_add(customer=customer, amount=Decimal("12.00"), currency="EUR", reason="refund")
    card = gift_card_issue(
        amount=Decimal("25.00"), currency="EUR", purpose="multi", customer=customer
    ).card

    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    html = page.content.decode()
    assert "Points, store credit and gift cards" in html
    assert "40 points" in html
    assert "12.00" in html or "12,00" in html
    assert f"…{card.last4}" in html
