"""The catalog back-office: edits go through the services, so they land in history."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Barcode, CatalogChange, Category, ChannelPrice
from tests.factories import SalesChannelFactory, VariantFactory
from unicommerce.channels.models import ApiKey


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("claire", "c@example.com", "pw-claire-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def inline_management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def product_form(product, **changes) -> dict:
    data = {
        "name": product.name,
        "brand": product.brand,
        "description": product.description,
        "category": product.category_id or "",
        "vat_rate": str(product.vat_rate),
        "is_active": "on",
        **inline_management("variants", 0, 0),
        **inline_management("images", 0, 0),
        **inline_management("history", 0, 0),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_editing_a_product_in_the_admin_records_history_and_publication(admin_client, manager, db):
    variant = VariantFactory()
    product = variant.product
    web = SalesChannelFactory(code="web")
    data = product_form(product, name="Renamed tee", published_on=[web.pk])
    data.update(inline_management("variants", 1, 1))
    data.update(
        {
            "variants-0-id": variant.pk,
            "variants-0-product": product.pk,
            "variants-0-sku": variant.sku,
            "variants-0-attributes": '{"size": "M"}',
            "variants-0-price_amount": "21.50",
            "variants-0-is_active": "on",
        }
    )

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    kinds = list(
        CatalogChange.objects.filter(product=product)
        .order_by("id")
        .values_list("kind", "created_by")
    )
    assert kinds == [("updated", manager.pk), ("publication", manager.pk), ("price", manager.pk)]
    variant.refresh_from_db()
    assert variant.price_amount == Decimal("21.50")
    assert list(product.channels.values_list("code", flat=True)) == ["web"]


def variant_form(variant, barcodes=(), prices=()) -> dict:
    data = {
        "sku": variant.sku,
        "attributes": '{"size": "M"}',
        "price_amount": str(variant.price_amount),
        "is_active": "on",
        **inline_management("barcodes", len(barcodes), 0),
        **inline_management("channel_prices", len(prices), 0),
    }
    for index, code in enumerate(barcodes):
        data[f"barcodes-{index}-code"] = code
    for index, (channel, amount) in enumerate(prices):
        data[f"channel_prices-{index}-channel"] = channel.pk
        data[f"channel_prices-{index}-price_amount"] = amount
    return data


def test_a_mistyped_barcode_is_a_form_error_in_the_admin(admin_client, db):
    variant = VariantFactory()
    before = Barcode.objects.count()

    response = admin_client.post(
        reverse("admin:catalog_variant_change", args=[variant.pk]),
        variant_form(variant, barcodes=["4006381333932"]),
    )

    assert response.status_code == 200
    assert "wrong check digit for an EAN-13 barcode" in response.content.decode()
    assert Barcode.objects.count() == before


def test_barcodes_and_channel_prices_added_in_the_admin(admin_client, manager, db):
    variant = VariantFactory()
    web = SalesChannelFactory(code="web")

    response = admin_client.post(
        reverse("admin:catalog_variant_change", args=[variant.pk]),
        variant_form(variant, barcodes=["4006381333931"], prices=[(web, "17.00")]),
    )

    assert response.status_code == 302
    assert "4006381333931" in set(variant.barcodes.values_list("code", flat=True))
    assert ChannelPrice.objects.get(variant=variant, channel=web).price_amount == Decimal("17.00")
    change = CatalogChange.objects.get(kind="channel_price")
    assert (change.created_by, change.changes) == (manager, {"price_amount": [None, "17.00"]})


def test_a_category_cannot_be_moved_under_itself_in_the_admin(admin_client, db):
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    tops = Category.objects.create(name="Tops", slug="tops", parent=clothing)

    response = admin_client.post(
        reverse("admin:catalog_category_change", args=[clothing.pk]),
        {"name": "Clothing", "slug": "clothing", "parent": tops.pk, "position": 0},
    )

    assert response.status_code == 200
    assert "A category cannot be moved under itself." in response.content.decode()
    clothing.refresh_from_db()
    assert clothing.parent is None


def test_a_staff_api_key_is_created_for_a_user_and_shown_once(admin_client, manager, db):
    response = admin_client.post(
        reverse("admin:channels_apikey_add"),
        {"name": "stock script", "user": manager.pk},
        follow=True,
    )

    page = response.content.decode()
    raw_key = page.split("Copy this key now, it will not be shown again: ")[1].split("<")[0]
    api_key = ApiKey.objects.get(name="stock script")
    assert api_key.user == manager
    assert raw_key.startswith("uck_")
    assert raw_key not in api_key.key_hash


def test_a_key_is_for_a_channel_or_a_user_not_both(admin_client, manager, db):
    web = SalesChannelFactory(code="web")

    response = admin_client.post(
        reverse("admin:channels_apikey_add"), {"name": "x", "user": manager.pk, "channel": web.pk}
    )

    assert "A key acts either as a channel or as a staff user." in response.content.decode()
    assert not ApiKey.objects.exists()
