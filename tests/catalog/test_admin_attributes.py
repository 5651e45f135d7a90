"""A variant's attributes in the admin are name/value rows, not raw JSON (issue 12): what
the rows show is what the JSON holds, what they post becomes that JSON again, an
untouched form changes nothing, and a bad row is a form error with nothing saved."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import CatalogChange, Variant
from tests.factories import VariantFactory
from unicommerce.admin_widgets import AttributesField, AttributesWidget

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("claire", "c@example.com", "pw-claire-1")
    )
    return client


def management(prefix: str) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def rows_of(html: str, name: str = "attributes") -> list[tuple[str, str]]:
    """The (name, value) rows the page shows for a field."""
    names = dict(re.findall(rf'name="{name}-name-(\d+)"[^>]*value="([^"]*)"', html))
    values = dict(re.findall(rf'name="{name}-value-(\d+)"[^>]*value="([^"]*)"', html))
    return [(names[i], values[i]) for i in sorted(names, key=int)]


def post_rows(variant, rows: list[tuple[str, str]]) -> dict:
    data = {
        "sku": variant.sku,
        "price_amount": str(variant.price_amount),
        "is_active": "on",
        "attributes-rows": str(len(rows)),
        **management("barcodes"),
        **management("channel_prices"),
    }
    for index, (name, value) in enumerate(rows):
        data[f"attributes-name-{index}"] = name
        data[f"attributes-value-{index}"] = value
    return data


def test_the_variant_page_shows_one_row_per_attribute_and_no_json(admin_client):
    variant = VariantFactory(attributes={"colour": "Écru", "size": "M", "fit": "slim"})

    html = admin_client.get(
        reverse("admin:catalog_variant_change", args=[variant.pk])
    ).content.decode()

    rows = rows_of(html)
    assert sorted(rows[:3]) == [("colour", "Écru"), ("fit", "slim"), ("size", "M")]
    assert rows[3:] == [("", "")]  # one blank row for a new attribute
    assert '<input type="hidden" name="attributes-rows" value="4">' in html
    assert "{&quot;colour&quot;" not in html
    assert '{"colour"' not in html


def test_a_variant_without_attributes_is_offered_size_and_colour(admin_client):
    variant = VariantFactory(attributes={})

    html = admin_client.get(
        reverse("admin:catalog_variant_change", args=[variant.pk])
    ).content.decode()

    assert rows_of(html) == [("size", ""), ("colour", ""), ("", "")]


def test_the_rows_round_trip_to_the_same_json(admin_client):
    variant = VariantFactory(attributes={"colour": "Navy", "size": "M"})
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    shown = rows_of(admin_client.get(url).content.decode())

    edited = [("colour", "Navy"), ("size", " L "), ("material", "linen"), ("", "")]
    response = admin_client.post(url, post_rows(variant, edited))

    assert response.status_code == 302, response.content.decode()[:1500]
    variant.refresh_from_db()
    assert variant.attributes == {"colour": "Navy", "size": "L", "material": "linen"}
    assert sorted(shown) == [("", ""), ("colour", "Navy"), ("size", "M")]
    change = CatalogChange.objects.filter(variant=variant).latest("id")
    assert change.changes == {
        "attributes": [
            {"colour": "Navy", "size": "M"},
            {"colour": "Navy", "size": "L", "material": "linen"},
        ]
    }


def test_posting_back_what_was_shown_changes_nothing(admin_client):
    variant = VariantFactory(attributes={"size": "M", "fit": 2})  # a number, from an import
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    before = CatalogChange.objects.count()

    shown = rows_of(admin_client.get(url).content.decode())
    response = admin_client.post(url, post_rows(variant, shown))

    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.attributes == {"size": "M", "fit": 2}  # kept as it was, number included
    assert CatalogChange.objects.count() == before


def test_emptying_a_value_removes_the_attribute(admin_client):
    variant = VariantFactory(attributes={"size": "M", "colour": "Red"})
    url = reverse("admin:catalog_variant_change", args=[variant.pk])

    admin_client.post(url, post_rows(variant, [("size", "M"), ("colour", "  ")]))

    variant.refresh_from_db()
    assert variant.attributes == {"size": "M"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("size", "M"), ("", "Navy")], "Give a name to the value “Navy”."),
        ([("size", "M"), ("Size", "L")], "The attribute “Size” is given twice."),
    ],
    ids=["value without a name", "a name twice"],
)
def test_a_bad_row_is_a_form_error_and_nothing_is_saved(admin_client, rows, message):
    variant = VariantFactory(attributes={"size": "S"})
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    before = CatalogChange.objects.count()

    response = admin_client.post(url, post_rows(variant, rows))

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert rows_of(html)[: len(rows)] == rows  # what was typed is shown again
    variant.refresh_from_db()
    assert variant.attributes == {"size": "S"}
    assert CatalogChange.objects.count() == before


def test_the_product_page_edits_its_variants_attributes_as_rows(admin_client, shop):
    variant = VariantFactory(attributes={"size": "M"})
    product = variant.product
    url = reverse("admin:catalog_product_change", args=[product.pk])

    html = admin_client.get(url).content.decode()
    assert rows_of(html, "variants-0-attributes") == [("size", "M"), ("colour", ""), ("", "")]
    data = {
        "name": product.name,
        "brand": product.brand,
        "description": product.description,
        "category": product.category_id or "",
        "vat_rate": str(product.vat_rate),
        "is_active": "on",
        **management("images"),
        **management("history"),
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-sku": variant.sku,
        "variants-0-price_amount": str(variant.price_amount),
        "variants-0-is_active": "on",
        "variants-0-attributes-rows": "3",
        "variants-0-attributes-name-0": "size",
        "variants-0-attributes-value-0": "M",
        "variants-0-attributes-name-1": "colour",
        "variants-0-attributes-value-1": "Sand",
        "variants-0-attributes-name-2": "",
        "variants-0-attributes-value-2": "",
    }
    data = {k: v for k, v in data.items() if v is not None}

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Variant.objects.get(pk=variant.pk).attributes == {"size": "M", "colour": "Sand"}


def test_the_field_reads_rows_and_the_earlier_json_shape():
    field, widget = AttributesField(required=False), AttributesWidget()

    rows = widget.value_from_datadict(
        {"a-rows": "2", "a-name-0": "size", "a-value-0": "M", "a-name-1": "", "a-value-1": ""},
        {},
        "a",
    )
    assert field.clean(rows) == {"size": "M"}
    assert field.clean(widget.value_from_datadict({"a": '{"size": "L"}'}, {}, "a")) == {"size": "L"}
    assert widget.value_from_datadict({}, {}, "a") is None  # not posted
    assert field.has_changed({"size": "M"}, None) is False
    with pytest.raises(Exception, match="could not be read"):
        field.clean(widget.value_from_datadict({"a": "[1, 2]"}, {}, "a"))
    with pytest.raises(Exception, match="could not be read"):
        field.clean(widget.value_from_datadict({"a-rows": "x"}, {}, "a"))
