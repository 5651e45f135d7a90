"""Customers' services: phones and emails in every format, identification across
channels, consents history, addresses, notes, tags, profile updates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.services.erasure import customer_erase
from customers.exceptions import (
    AddressInvalid,
    CustomerErased,
    CustomerIdentityTaken,
    IdentityConflict,
    IdentityRequired,
    InvalidConsentKind,
    InvalidEmail,
    InvalidPhone,
)
from customers.models import Address, Consent, Customer
from customers.phones import phone_e164
from customers.selectors import customer_consents, customer_find
from customers.services.identity import customer_identify
from customers.services.profile import (
    address_add,
    address_delete,
    address_set_default,
    address_update,
    consent_record,
    customer_note_add,
    customer_tags_set,
    customer_update,
)
from unicommerce.exceptions import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("01 42 60 30 30", "+33142603030"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (212) 555-0123", "+12125550123"),
        ("+49 30 901820", "+4930901820"),
    ],
)
def test_phones_in_french_and_international_formats_become_e164(raw, expected):
    assert phone_e164(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "12", "06 12", "not a phone", "+33 1", "+999 123456"])
def test_invalid_phones_are_refused_with_their_own_code(raw):
    with pytest.raises(InvalidPhone) as error:
        phone_e164(raw)
    assert error.value.code == "invalid_phone"
    assert error.value.http_status == 400


def test_a_customer_is_recognised_by_phone_in_any_format_and_by_email_in_any_case(shop):
    customer, created = customer_identify(phone="06 12 34 56 78", channel=shop.store_channel)

    again, created_again = customer_identify(
        phone="+33612345678", email="Camille@Example.COM", verified=True
    )
    by_email = customer_find(email="  camille@example.com ")

    assert created
    assert not created_again
    assert again == customer == by_email
    assert again.email == "camille@example.com"  # filled in on the customer found
    assert again.source_channel == shop.store_channel
    assert Customer.objects.count() == 1


def test_identify_refuses_bad_input_and_conflicting_identities(make_customer):
    make_customer(email="a@example.com")
    make_customer(phone="+33612345678", email=None)

    with pytest.raises(IdentityRequired):
        customer_identify()
    with pytest.raises(InvalidEmail):
        customer_identify(email="not-an-email")
    with pytest.raises(InvalidPhone):
        customer_identify(phone="06 12")
    with pytest.raises(IdentityConflict):
        customer_identify(email="a@example.com", phone="0612345678", verified=True)
    assert Customer.objects.count() == 2


def test_unverified_details_never_change_or_reveal_an_existing_customer(make_customer):
    by_email = make_customer(email="a@example.com", phone=None, first_name="Ann", last_name="")
    by_phone = make_customer(phone="+33612345678", email=None)

    found, created = customer_identify(email="A@example.com", phone="0699999999", last_name="X")
    conflict, _ = customer_identify(email="a@example.com", phone="0612345678")
    new, made = customer_identify(email="new@example.com", first_name="Neo")

    assert (found, created) == (by_email, False)
    assert conflict == by_phone  # no IdentityConflict: it would say both exist
    assert (new.email, new.first_name, made) == ("new@example.com", "Neo", True)
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.phone, by_email.last_name, by_phone.email) == (None, "", None)


def test_consents_are_a_history_whose_latest_row_per_kind_holds(make_customer, shop):
    customer = make_customer()
    now = timezone.now()
    consent_record(
        customer=customer,
        kind="sms_marketing",
        granted=True,
        source="till",
        channel=shop.store_channel,
        at=now - timedelta(days=10),
    )
    consent_record(customer=customer, kind="sms_marketing", granted=False, source="web form")
    consent_record(customer=customer, kind="email_marketing", granted=True, source="web form")

    current = customer_consents(customer)

    assert current["sms_marketing"].granted is False
    assert current["sms_marketing"].source == "web form"
    assert current["email_marketing"].granted is True
    assert Consent.objects.filter(customer=customer, kind="sms_marketing").count() == 2
    assert customer_consents(make_customer()) == {"sms_marketing": None, "email_marketing": None}


def test_a_consent_of_an_unknown_kind_or_without_source_changes_nothing(make_customer):
    customer = make_customer()

    with pytest.raises(InvalidConsentKind):
        consent_record(customer=customer, kind="telepathy", granted=True, source="till")
    with pytest.raises(InvalidInput):
        consent_record(customer=customer, kind="sms_marketing", granted=True, source=" ")
    assert not Consent.objects.exists()


def test_addresses_first_is_default_one_default_at_a_time_and_a_successor_on_delete(
    make_customer,
):
    customer = make_customer()
    home = address_add(
        customer=customer, line1="1 rue de Rivoli", postal_code="75001", city="Paris"
    )
    work = address_add(
        customer=customer,
        line1="5 quai Saint-Antoine",
        postal_code="69002",
        city="Lyon",
        phone="04 72 00 00 00",
    )
    assert (home.is_default, work.is_default) == (True, False)
    assert work.phone == "+33472000000"

    address_set_default(address=work)
    assert list(customer.addresses.filter(is_default=True)) == [work]

    address_delete(address=work)
    home.refresh_from_db()
    assert home.is_default is True


def test_a_new_default_address_replaces_the_old_default(make_customer):
    customer = make_customer()
    first = address_add(customer=customer, line1="1 rue A", postal_code="75001", city="Paris")
    second = address_add(
        customer=customer, line1="2 rue B", postal_code="75002", city="Paris", is_default=True
    )
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_address_with_a_foreign_phone_reads_it_in_its_country(make_customer):
    customer = make_customer()
    address = address_add(
        customer=customer,
        line1="10 Downing Street",
        postal_code="SW1A 2AA",
        city="London",
        country="gb",
        phone="020 7946 0958",
    )
    assert (address.country, address.phone) == ("GB", "+442079460958")


def test_bad_addresses_are_refused_and_nothing_is_stored(make_customer):
    customer = make_customer()
    with pytest.raises(AddressInvalid) as missing:
        address_add(customer=customer, line1=" ", postal_code="75001", city="Paris")
    with pytest.raises(AddressInvalid) as country:
        address_add(customer=customer, line1="1 rue A", postal_code="1", city="X", country="FRA")
    with pytest.raises(InvalidPhone):
        address_add(customer=customer, line1="1 rue A", postal_code="1", city="X", phone="12")
    assert missing.value.details == {"field": "line1"}
    assert country.value.details == {"field": "country"}
    assert not Address.objects.exists()


def test_address_update_changes_fields_and_checks_them(make_customer):
    customer = make_customer()
    address = address_add(customer=customer, line1="1 rue A", postal_code="75001", city="Paris")

    address_update(address=address, city="Lyon", postal_code="69001", phone="0612345678")
    with pytest.raises(InvalidInput):
        address_update(address=address, colour="blue")
    with pytest.raises(AddressInvalid):
        address_update(address=address, city="")

    address.refresh_from_db()
    assert (address.city, address.postal_code, address.phone) == ("Lyon", "69001", "+33612345678")


def test_notes_and_tags(make_customer, django_user_model):
    customer = make_customer()
    user = django_user_model.objects.create_user("clerk")

    note = customer_note_add(customer=customer, body=" Prefers the Lyon store ", user=user)
    customer_tags_set(customer=customer, tags=["VIP", " vip ", "Newsletter  2024", ""])
    with pytest.raises(InvalidInput):
        customer_note_add(customer=customer, body="  ")

    customer.refresh_from_db()
    assert (note.body, note.author) == ("Prefers the Lyon store", user)
    assert customer.tags == ["newsletter 2024", "vip"]
    assert customer.notes.count() == 1


def test_customer_update_normalises_and_refuses_details_of_another_customer(make_customer):
    customer = make_customer(email="camille@example.com")
    make_customer(email="other@example.com", phone="+33781234567")

    customer_update(customer=customer, first_name=" Camille ", phone="06 12 34 56 78")
    with pytest.raises(CustomerIdentityTaken) as taken_email:
        customer_update(customer=customer, email="OTHER@example.com")
    with pytest.raises(CustomerIdentityTaken) as taken_phone:
        customer_update(customer=customer, phone="07 81 23 45 67")
    with pytest.raises(InvalidEmail):
        customer_update(customer=customer, email="nope@")
    with pytest.raises(InvalidPhone):
        customer_update(customer=customer, phone="0612")

    customer.refresh_from_db()
    assert (customer.first_name, customer.email, customer.phone) == (
        "Camille",
        "camille@example.com",
        "+33612345678",
    )
    assert taken_email.value.code == "identity_taken"
    assert taken_email.value.details == {"field": "email", "value": "other@example.com"}
    assert taken_phone.value.details["field"] == "phone"


def test_customer_update_may_remove_one_contact_detail_but_not_both(make_customer):
    customer = make_customer(email="camille@example.com", phone="+33612345678")

    customer_update(customer=customer, email="")
    with pytest.raises(IdentityRequired):
        customer_update(customer=customer, phone=None)

    customer.refresh_from_db()
    assert (customer.email, customer.phone) == (None, "+33612345678")


def test_an_erased_customer_cannot_be_changed(make_customer):
    customer = make_customer()
    customer_erase(customer=customer)
    with pytest.raises(CustomerErased):
        customer_update(customer=customer, first_name="Back")
    with pytest.raises(CustomerErased):
        address_add(customer=customer, line1="1 rue A", postal_code="75001", city="Paris")
    with pytest.raises(CustomerErased):
        customer_erase(customer=customer)
