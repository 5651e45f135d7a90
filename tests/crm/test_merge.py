"""Duplicates and merging: every row pointing at the duplicate follows the survivor."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.services.erasure import customer_erase
from crm.services.merging import customer_merge
from customers.auth import access_token_authenticate, login_code_exchange, login_code_send
from customers.exceptions import MergeRefused
from customers.models import Address, Consent, Customer, CustomerNote
from customers.selectors import DuplicateReason, customer_consents, customer_duplicates
from customers.services.profile import address_add, consent_record, customer_note_add
from orders.models import Cart, CartLine, Order
from tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_merge_moves_orders_carts_addresses_consents_notes_and_fills_missing_details(
    shop,
    make_customer,
    make_order,
    make_cart,
    django_user_model,
    django_capture_on_commit_callbacks,
):
    survivor = make_customer(email="camille@example.com", first_name="Camille", last_name="")
    duplicate = make_customer(
        email=None, phone="+33612345678", first_name="Cam", last_name="Durand", tags=["vip"]
    )
    make_order(survivor, "30.00")
    dup_orders = [make_order(duplicate, "20.00"), make_order(duplicate, "10.00")]
    address_add(customer=survivor, line1="1 rue A", postal_code="75001", city="Paris")
    dup_address = address_add(customer=duplicate, line1="2 rue B", postal_code="69001", city="Lyon")
    consent_record(customer=duplicate, kind="sms_marketing", granted=True, source="till")
    customer_note_add(customer=duplicate, body="Asked for a size 42.")
    old_cart = make_cart(duplicate, status=Cart.Status.CHECKED_OUT)
    user = django_user_model.objects.create_user("manager")

    with django_capture_on_commit_callbacks(execute=True):
        result = customer_merge(survivor=survivor, duplicate=duplicate, user=user)

    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert result == survivor
    assert set(Order.objects.filter(customer=survivor)) >= set(dup_orders)
    assert Order.objects.filter(customer=duplicate).count() == 0
    assert Cart.objects.get(pk=old_cart.pk).customer == survivor
    dup_address.refresh_from_db()
    assert dup_address.customer == survivor
    assert dup_address.is_default is False
    assert Address.objects.filter(customer=survivor, is_default=True).count() == 1
    assert customer_consents(survivor)["sms_marketing"].granted is True
    assert CustomerNote.objects.filter(customer=survivor, body="Asked for a size 42.").exists()
    assert CustomerNote.objects.filter(customer=survivor, author=user).count() == 1  # the audit
    assert (survivor.email, survivor.phone) == ("camille@example.com", "+33612345678")
    assert (survivor.first_name, survivor.last_name) == ("Camille", "Durand")
    assert survivor.tags == ["vip"]
    assert (duplicate.merged_into, duplicate.email, duplicate.phone) == (survivor, None, None)
    # The figures follow the orders (refreshed after commit).
    assert (survivor.order_count, survivor.lifetime_value) == (3, Decimal("60.00"))
    assert (duplicate.order_count, duplicate.lifetime_value) == (0, Decimal("0.00"))


def test_merge_merges_two_open_carts_into_one(shop, make_customer, make_cart):
    survivor, duplicate = make_customer(), make_customer()
    shirt, socks, cap = VariantFactory(), VariantFactory(), VariantFactory()
    kept = make_cart(survivor, (shirt, 1), (socks, 1))
    other = make_cart(duplicate, (socks, 2), (cap, 1))

    customer_merge(survivor=survivor, duplicate=duplicate)

    other.refresh_from_db()
    assert other.status == Cart.Status.MERGED
    assert other.merged_into == kept
    lines = {line.variant_id: line.quantity for line in CartLine.objects.filter(cart=kept)}
    assert lines == {shirt.pk: 1, socks.pk: 3, cap.pk: 1}
    assert Cart.objects.filter(customer=survivor, status=Cart.Status.OPEN).count() == 1


def test_merge_of_a_customer_that_was_itself_a_merge_target_follows_the_chain(make_customer):
    a, b, c = make_customer(), make_customer(), make_customer()
    customer_merge(survivor=b, duplicate=a)

    customer_merge(survivor=c, duplicate=b)

    a.refresh_from_db()
    b.refresh_from_db()
    assert a.merged_into == c
    assert b.merged_into == c


def test_a_sign_in_token_of_the_duplicate_then_signs_in_as_the_survivor(shop, make_customer):
    survivor = make_customer(email="keep@example.com")
    duplicate = make_customer(email="old@example.com")
    sent = login_code_send(channel=shop.web, email="old@example.com")
    _token, raw = login_code_exchange(channel=shop.web, email="old@example.com", code=sent.code)

    customer_merge(survivor=survivor, duplicate=duplicate)

    assert access_token_authenticate(raw_token=raw).customer == survivor


def test_merging_is_refused_for_self_merged_or_erased_customers_and_nothing_moves(
    make_customer, make_order
):
    survivor, duplicate = make_customer(), make_customer()
    order = make_order(duplicate)
    merged, erased = make_customer(), make_customer()
    customer_merge(survivor=survivor, duplicate=merged)
    customer_erase(customer=erased)

    refusals = []
    for pair in [
        (survivor, survivor),
        (survivor, merged),
        (merged, duplicate),
        (erased, duplicate),
    ]:
        with pytest.raises(MergeRefused) as error:
            customer_merge(survivor=pair[0], duplicate=pair[1])
        refusals.append(error.value.code)

    assert refusals == ["merge_refused"] * 4
    order.refresh_from_db()
    duplicate.refresh_from_db()
    assert order.customer == duplicate
    assert duplicate.merged_into is None


def test_duplicates_are_found_with_their_reasons(make_customer, shop):
    # Old data, written before normalisation (saved as they were by an import).
    email_a = make_customer(email="Anne@Example.com", first_name="Anne", last_name="A")
    email_b = make_customer(email="anne@example.com ", first_name="Anne", last_name="A2")
    phone_a = make_customer(email=None, phone="+33611111111", first_name="Bob", last_name="B")
    phone_b = make_customer(email=None, phone="0611111111", first_name="Robert", last_name="B")
    # Same names, phones ending alike (international vs national, other country code).
    name_a = make_customer(email="c1@example.com", phone="+33622334455", first_name="Chloé")
    name_b = make_customer(email="c2@example.com", phone="+32422334455", first_name="Chloé")
    Customer.objects.filter(pk=name_b.pk).update(last_name=name_a.last_name)
    # Same names and an address in the same postal code.
    post_a = make_customer(first_name="Dan", last_name="Dupont")
    post_b = make_customer(first_name="dan ", last_name="DUPONT")
    address_add(customer=post_a, line1="1 rue A", postal_code="75011", city="Paris")
    address_add(customer=post_b, line1="9 rue Z", postal_code="75011", city="Paris")
    # One known by email, the other by phone only, with the same name.
    mail_only = make_customer(email="eve@example.com", first_name="Eve", last_name="E")
    phone_only = make_customer(email=None, phone="+33699887766", first_name="Eve", last_name="E")
    # Not duplicates: same names only; a merged customer.
    make_customer(first_name="Eve", last_name="E", email="eve2@example.com", phone="+33655555555")
    gone = make_customer(email="ANNE@example.com", first_name="Anne", last_name="A3")
    customer_merge(survivor=email_a, duplicate=gone)

    found = {(c.first.pk, c.second.pk): set(c.reasons) for c in customer_duplicates()}

    def pair(x, y):
        return (min(x.pk, y.pk), max(x.pk, y.pk))

    assert found[pair(email_a, email_b)] == {DuplicateReason.EMAIL}
    assert found[pair(phone_a, phone_b)] == {DuplicateReason.PHONE}
    assert found[pair(name_a, name_b)] == {DuplicateReason.NAME_PHONE}
    assert found[pair(post_a, post_b)] == {DuplicateReason.NAME_POSTAL_CODE}
    assert found[pair(mail_only, phone_only)] == {DuplicateReason.NAME_EMAIL_VS_PHONE}
    assert len(found) == 5
    assert all(gone.pk not in ids for ids in found)


def test_consents_after_a_merge_the_latest_decision_of_either_wins(make_customer):
    from datetime import timedelta

    from django.utils import timezone

    survivor, duplicate = make_customer(), make_customer()
    consent_record(
        customer=survivor,
        kind="email_marketing",
        granted=True,
        source="web",
        at=timezone.now() - timedelta(days=3),
    )
    consent_record(customer=duplicate, kind="email_marketing", granted=False, source="till")

    customer_merge(survivor=survivor, duplicate=duplicate)

    assert customer_consents(survivor)["email_marketing"].granted is False
    assert Consent.objects.filter(customer=survivor).count() == 2


# --- store credit: an append-only ledger follows by compensating entries ---------------


def _ledger(customer) -> list[tuple[str, Decimal, str, str]]:
    from loyalty.models import StoreCreditEntry

    return [
        (entry.reason, entry.amount, entry.currency, entry.reference)
        for entry in StoreCreditEntry.objects.filter(customer=customer).order_by("id")
    ]


def test_merge_moves_the_duplicates_store_credit_by_compensating_ledger_entries(make_customer):
    from loyalty.models import StoreCreditEntry
    from loyalty.services.store_credit import (
        store_credit_add,
        store_credit_balance,
        store_credit_spend,
    )

    survivor = make_customer(email="camille@example.com")
    duplicate = make_customer(email="cam@example.com")
    store_credit_add(customer=survivor, amount=Decimal("10.00"), currency="EUR", reason="refund")
    store_credit_add(
        customer=duplicate, amount=Decimal("40.00"), currency="EUR", reason="return", reference="R1"
    )
    store_credit_spend(customer=duplicate, amount=Decimal("15.00"), currency="EUR")
    store_credit_add(customer=duplicate, amount=Decimal("7.00"), currency="USD", reason="refund")
    rows_before = list(
        StoreCreditEntry.objects.order_by("id").values_list("id", "customer_id", "amount")
    )

    customer_merge(survivor=survivor, duplicate=duplicate)

    # No ledger row was rewritten: the old rows are exactly as they were.
    assert (
        list(
            StoreCreditEntry.objects.filter(id__in=[r[0] for r in rows_before])
            .order_by("id")
            .values_list("id", "customer_id", "amount")
        )
        == rows_before
    )
    assert _ledger(duplicate)[-2:] == [
        ("merge", Decimal("-25.00"), "EUR", f"moved to customer #{survivor.pk}"),
        ("merge", Decimal("-7.00"), "USD", f"moved to customer #{survivor.pk}"),
    ]
    assert _ledger(survivor)[-2:] == [
        ("merge", Decimal("25.00"), "EUR", f"moved from customer #{duplicate.pk}"),
        ("merge", Decimal("7.00"), "USD", f"moved from customer #{duplicate.pk}"),
    ]
    assert store_credit_balance(customer=survivor, currency="EUR") == Decimal("35.00")
    assert store_credit_balance(customer=survivor, currency="USD") == Decimal("7.00")
    assert store_credit_balance(customer=duplicate, currency="EUR") == Decimal("0.00")
    assert store_credit_balance(customer=duplicate, currency="USD") == Decimal("0.00")
    # The survivor can spend it all, and no more.
    store_credit_spend(customer=survivor, amount=Decimal("35.00"), currency="EUR")
    assert store_credit_balance(customer=survivor, currency="EUR") == Decimal("0.00")


def test_the_store_credit_move_is_idempotent(make_customer):
    from loyalty.services.store_credit import (
        store_credit_add,
        store_credit_balance,
        store_credit_merge,
    )

    survivor = make_customer()
    duplicate = make_customer()
    store_credit_add(customer=duplicate, amount=Decimal("12.00"), currency="EUR", reason="refund")

    first = store_credit_merge(survivor=survivor, duplicate=duplicate)
    again = store_credit_merge(survivor=survivor, duplicate=duplicate)

    assert len(first) == 2
    assert again == []
    assert store_credit_balance(customer=survivor, currency="EUR") == Decimal("12.00")
    assert store_credit_balance(customer=duplicate, currency="EUR") == Decimal("0.00")


def test_a_refused_merge_moves_no_store_credit(make_customer):
    from loyalty.models import StoreCreditEntry
    from loyalty.services.store_credit import store_credit_add

    survivor = make_customer()
    duplicate = make_customer()
    store_credit_add(customer=duplicate, amount=Decimal("12.00"), currency="EUR", reason="refund")
    customer_erase(customer=survivor)

    with pytest.raises(MergeRefused):
        customer_merge(survivor=survivor, duplicate=duplicate)

    assert StoreCreditEntry.objects.count() == 1
    assert _ledger(duplicate) == [("refund", Decimal("12.00"), "EUR", "")]
