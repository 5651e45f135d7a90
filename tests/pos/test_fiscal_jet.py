"""The technical events log (JET) of the fiscal journal: price and VAT rate changes
written in the transaction of the change (one event for a whole import), the software
version after migrate (once per version), the integrity check's breaks named, and a
change of a journal record through the ORM refused and logged as a tampering attempt
that survives the caller's rollback."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from catalog.models import Variant
from catalog.services import channel_price_set, product_update, variant_update
from pos.fiscal import journal_append
from pos.fiscal.integrity import journal_check_logged
from pos.fiscal.version import software_version, software_version_record
from pos.models import JournalRecord
from tests.catalog.test_catalog_admin import inline_management, product_form, variant_form
from tests.factories import SalesChannelFactory, VariantFactory
from tests.inventory.test_imports import VALID_PRODUCTS, run_import

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
WHEN = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def events(code: str) -> list[JournalRecord]:
    return list(
        JournalRecord.objects.filter(
            event_code=code, chain__register__isnull=True, chain__store__isnull=True
        ).order_by("number")
    )


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("claire", "c@example.com", "pw-claire-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


# --------------------------------------------------------------------------- prices


def test_a_price_edited_in_the_admin_writes_one_event_with_old_and_new(admin_client, manager):
    variant = VariantFactory(price_amount=Decimal("19.90"))
    data = variant_form(variant)
    data["price_amount"] = "17.50"

    response = admin_client.post(reverse("admin:catalog_variant_change", args=[variant.pk]), data)

    assert response.status_code == 302
    (event,) = events("price_change")
    assert event.reference == f"variant:{variant.pk}"
    assert event.payload["count"] == 1
    assert event.payload["changes"] == [
        {
            "what": "price",
            "product_id": variant.product_id,
            "variant_id": variant.pk,
            "sku": variant.sku,
            "channel_id": None,
            "old": "19.90",
            "new": "17.50",
            "user_id": manager.pk,
        }
    ]


def test_a_vat_rate_edited_in_the_admin_writes_one_vat_rate_event(admin_client, manager):
    variant = VariantFactory()
    product = variant.product
    before = str(product.vat_rate)

    response = admin_client.post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        product_form(product, vat_rate="5.5", **inline_management("variants", 0, 0)),
    )

    assert response.status_code == 302, response.content.decode()[:1000]
    (event,) = events("vat_rate_change")
    (change,) = event.payload["changes"]
    assert (change["what"], change["old"], change["new"]) == ("vat_rate", before, "5.5")
    assert change["product_id"] == product.pk
    assert change["user_id"] == manager.pk
    assert events("price_change") == []


def test_a_save_that_does_not_change_the_price_writes_nothing(admin_client):
    variant = VariantFactory(price_amount=Decimal("19.90"))

    response = admin_client.post(
        reverse("admin:catalog_variant_change", args=[variant.pk]), variant_form(variant)
    )
    variant_update(variant=variant, price_amount="19.90")
    product_update(product=variant.product, vat_rate=variant.product.vat_rate)

    assert response.status_code == 302
    assert events("price_change") == events("vat_rate_change") == []


def test_a_channel_price_set_then_removed_writes_an_event_each_time():
    variant = VariantFactory(price_amount=Decimal("19.90"))
    web = SalesChannelFactory(code="web")

    channel_price_set(variant=variant, channel=web, price_amount=Decimal("15.00"))
    channel_price_set(variant=variant, channel=web, price_amount=Decimal("15.00"))
    channel_price_set(variant=variant, channel=web, price_amount=None)

    changes = [e.payload["changes"][0] for e in events("price_change")]
    assert [(c["what"], c["channel_id"], c["old"], c["new"]) for c in changes] == [
        ("channel_price", web.pk, None, "15.00"),
        ("channel_price", web.pk, "15.00", None),
    ]


def test_a_price_change_rolled_back_leaves_no_event():
    variant = VariantFactory(price_amount=Decimal("19.90"))

    def change_then_fail():
        with transaction.atomic():
            variant_update(variant=variant, price_amount="9.90")
            raise RuntimeError("the caller fails after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert Variant.objects.get(pk=variant.pk).price_amount == Decimal("19.90")
    assert events("price_change") == []


def test_an_import_changing_many_prices_and_a_rate_writes_one_event_of_each(django_user_model):
    clerk = django_user_model.objects.create(username="clerk")
    from catalog.models import Category

    Category.objects.create(name="T-shirts", slug="t-shirts")
    Category.objects.create(name="Mugs", slug="mugs")
    run_import("products", VALID_PRODUCTS, user=clerk)
    assert events("price_change") == []  # creating is not changing
    changed = [list(row) for row in VALID_PRODUCTS]
    changed[1][5], changed[2][5] = "17.50", "18.00"  # TEE-M, TEE-L
    changed[3][4] = "10"  # the mug's VAT rate

    job = run_import("products", changed, user=clerk)

    assert job.status == "done"
    (prices,) = events("price_change")
    assert prices.reference == f"import:{job.pk}"
    assert prices.payload["source"] == f"import:{job.pk}"
    assert sorted((c["sku"], c["old"], c["new"]) for c in prices.payload["changes"]) == [
        ("TEE-L", "19.90", "18.00"),
        ("TEE-M", "19.90", "17.50"),
    ]
    (rates,) = events("vat_rate_change")
    assert [(c["old"], c["new"]) for c in rates.payload["changes"]] == [("5.5", "10.0")]


def test_a_refused_import_writes_no_event(django_user_model):
    clerk = django_user_model.objects.create(username="clerk")
    variant = VariantFactory(sku="TEE-M", price_amount=Decimal("19.90"))
    rows = [list(VALID_PRODUCTS[0]), list(VALID_PRODUCTS[1])]
    rows[1][5] = "-3"

    job = run_import("products", rows, user=clerk)

    assert job.status == "failed"
    assert Variant.objects.get(pk=variant.pk).price_amount == Decimal("19.90")
    assert events("price_change") == []


# --------------------------------------------------------------------------- version


def test_the_software_version_is_recorded_once_per_version():
    first = software_version_record(version="1.0.0+gabc")
    again = software_version_record(version="1.0.0+gabc")
    upgraded = software_version_record(version="1.1.0+gdef")

    assert again is None
    assert [e.payload for e in events("software_version")] == [
        {"version": "1.0.0+gabc", "previous": None},
        {"version": "1.1.0+gdef", "previous": "1.0.0+gabc"},
    ]
    assert [first.pk, upgraded.pk] == [e.pk for e in events("software_version")]


def test_migrate_records_the_running_version_once(settings):
    settings.POS_JOURNAL_SOFTWARE_VERSION = True

    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)

    (event,) = events("software_version")
    assert event.payload["version"] == software_version()
    assert event.payload["version"].startswith("0.")


def test_the_version_reads_pyproject_and_the_commit_from_the_environment(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2.3.4"\n')
    monkeypatch.setenv("SOURCE_COMMIT", "0123456789abcdef0123")

    assert software_version(tmp_path) == "2.3.4+g0123456789ab"


# --------------------------------------------------------------------------- integrity


def test_the_integrity_check_event_names_the_broken_chain(shop):
    for n in range(3):
        journal_append(
            chain=shop.register,
            kind="ticket",
            payload={"n": n},
            reference=f"T{n}",
            occurred_at=WHEN,
        )
    target = JournalRecord.objects.get(reference="T1")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE pos_journalrecord SET payload = '{\"n\": 9}' WHERE id = %s", [target.pk]
            )
        finally:
            cursor.execute("SET session_replication_role = origin")

    check, record = journal_check_logged()

    assert not check.intact
    assert record.payload["result"] == "broken"
    (broken,) = record.payload["breaks"]
    assert broken == {
        "chain": {
            "kind": "ticket",
            "register_id": shop.register.pk,
            "scope": "register",
            "store_id": None,
        },
        "number": 2,
        "problem": "hash",
    }
