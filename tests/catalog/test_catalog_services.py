from decimal import Decimal

import pytest

from catalog.exceptions import (
    CategoryCycle,
    DuplicateBarcode,
    DuplicateSku,
    InvalidBarcode,
    InvalidPrice,
)
from catalog.models import Barcode, CatalogChange, Category, ChannelPrice, Publication, Variant
from catalog.selectors import category_subtree_ids, variant_by_code
from catalog.services import (
    barcode_add,
    barcode_remove,
    category_save,
    channel_price_set,
    product_create,
    product_publish,
    product_update,
    variant_create,
    variant_update,
)
from tests.factories import SalesChannelFactory, UserFactory, VariantFactory


def history(product) -> list[tuple]:
    return list(
        CatalogChange.objects.filter(product=product)
        .order_by("id")
        .values_list("kind", "changes", "created_by__username")
    )


def test_creating_and_editing_a_product_is_recorded_with_who_did_it(db):
    buyer = UserFactory(username="buyer")
    web = SalesChannelFactory(code="web")

    product = product_create(
        name="Linen shirt", vat_rate=Decimal("20.0"), user=buyer, channels=[web]
    )
    product_update(product=product, name="Linen shirt (organic)", brand="Brume", user=buyer)
    product_update(product=product, name="Linen shirt (organic)", user=buyer)  # no change

    assert history(product) == [
        ("created", {}, "buyer"),
        ("publication", {"channels": [[], [web.pk]]}, "buyer"),
        (
            "updated",
            {"name": ["Linen shirt", "Linen shirt (organic)"], "brand": ["", "Brume"]},
            "buyer",
        ),
    ]


def test_a_price_change_is_history_of_its_own(db):
    variant = VariantFactory(price_amount=Decimal("19.90"))

    variant_update(variant=variant, price_amount=Decimal("17.5"), attributes={"size": "L"})

    kinds = dict(CatalogChange.objects.filter(variant=variant).values_list("kind", "changes"))
    assert kinds == {
        "price": {"price_amount": ["19.90", "17.50"]},
        "updated": {"attributes": [{"size": "M"}, {"size": "L"}]},
    }


def test_a_channel_price_is_set_on_purpose_and_can_be_removed(db):
    variant = VariantFactory(price_amount=Decimal("19.90"))
    web = SalesChannelFactory(code="web")

    channel_price_set(variant=variant, channel=web, price_amount=Decimal("18.00"))
    channel_price_set(variant=variant, channel=web, price_amount=None)

    assert not ChannelPrice.objects.exists()
    changes = CatalogChange.objects.filter(kind="channel_price").order_by("id")
    assert [c.changes for c in changes] == [
        {"price_amount": [None, "18.00"]},
        {"price_amount": ["18.00", None]},
    ]


@pytest.mark.parametrize("amount", ["-1", "abc", "NaN", "1e12"])
def test_prices_are_amounts_of_zero_or_more(db, amount):
    variant = VariantFactory(price_amount=Decimal("19.90"))

    with pytest.raises(InvalidPrice):
        variant_update(variant=variant, price_amount=amount)

    variant.refresh_from_db()
    assert variant.price_amount == Decimal("19.90")
    assert not CatalogChange.objects.filter(variant=variant).exists()


def test_a_variant_can_carry_several_barcodes_each_unique(db):
    variant = VariantFactory()
    other = VariantFactory()
    printed = variant.barcode

    barcode_add(variant=variant, code="4006381333931")
    barcode_add(variant=variant, code=" 96385074 ")
    barcode_add(variant=variant, code="4006381333931")  # already there: nothing new

    assert set(Barcode.objects.filter(variant=variant).values_list("code", flat=True)) == {
        printed,
        "4006381333931",
        "96385074",
    }
    assert variant_by_code(code="96385074") == variant
    with pytest.raises(DuplicateBarcode) as raised:
        barcode_add(variant=other, code="4006381333931")
    assert raised.value.details == {"barcode": "4006381333931", "sku": variant.sku}


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("4006381333932", "wrong check digit"),
        ("12345", "8 (EAN-8), 12 (UPC-A) or 13"),
        ("abc", "digits only"),
    ],
)
def test_a_mistyped_barcode_is_refused(db, code, problem):
    variant = VariantFactory()
    before = Barcode.objects.count()

    with pytest.raises(InvalidBarcode, match=problem.replace("(", r"\(").replace(")", r"\)")):
        barcode_add(variant=variant, code=code)

    assert Barcode.objects.count() == before


def test_skus_are_unique_whatever_their_case(db):
    existing = VariantFactory(sku="TEE-M")

    with pytest.raises(DuplicateSku):
        variant_create(product=existing.product, sku="tee-m", price_amount=Decimal("1"))
    with pytest.raises(DuplicateSku):
        variant_update(variant=VariantFactory(), sku="Tee-M")

    assert Variant.objects.filter(sku__iexact="tee-m").count() == 1


def test_publication_is_exactly_the_channels_given(db):
    product = VariantFactory().product
    web, app, store = (SalesChannelFactory(code=c) for c in ("web", "app", "store"))

    product_publish(product=product, channels=[web, app])
    product_publish(product=product, channels=[app, store])

    assert set(
        Publication.objects.filter(product=product).values_list("channel__code", flat=True)
    ) == {
        "app",
        "store",
    }


def test_categories_form_a_tree_that_cannot_loop(db):
    clothing = category_save(name="Clothing", slug="clothing")
    tops = category_save(name="Tops", slug="tops", parent=clothing)
    tees = category_save(name="T-shirts", slug="t-shirts", parent=tops)

    with pytest.raises(CategoryCycle):
        category_save(category=clothing, name="Clothing", slug="clothing", parent=tees)

    clothing.refresh_from_db()
    assert clothing.parent is None
    assert sorted(category_subtree_ids(slug="clothing")) == sorted([clothing.pk, tops.pk, tees.pk])
    assert category_subtree_ids(slug="tops") == [tops.pk, tees.pk]
    assert category_subtree_ids(slug="nope") is None
    assert Category.objects.count() == 3


def test_barcodes_added_or_removed_are_in_the_history_with_who_did_it(db):
    clerk = UserFactory(username="clerk")
    variant = VariantFactory()

    barcode_add(variant=variant, code="4006381333931", user=clerk)
    barcode_remove(variant=variant, code="4006381333931", user=clerk)
    barcode_remove(variant=variant, code="4006381333931", user=clerk)  # gone already: nothing

    assert list(
        CatalogChange.objects.filter(variant=variant)
        .order_by("id")
        .values_list("changes", "created_by__username")
    ) == [
        ({"barcodes": [None, "4006381333931"]}, "clerk"),
        ({"barcodes": ["4006381333931", None]}, "clerk"),
    ]


def test_a_new_variant_records_its_price_and_barcodes_once(db):
    product = VariantFactory().product

    variant = variant_create(
        product=product, sku="NEW-1", price_amount=Decimal("9.9"), barcodes=["96385074"]
    )

    [change] = CatalogChange.objects.filter(variant=variant)
    assert (change.kind, change.changes) == (
        "created",
        {"price_amount": [None, "9.90"], "barcodes": [None, ["96385074"]]},
    )
