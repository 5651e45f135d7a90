"""Issue 12: the search finds what a seller types, on a French catalogue: words with or
without accents, hyphens or not, the start of a word, of a SKU or of a barcode; grouped
by product, an exact SKU or barcode first, then name matches. The search document is
kept fresh whatever writes the catalogue (services, admin, import, bulk writes, SQL)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from catalog import services
from catalog.barcodes import ean13_from
from catalog.models import Barcode, Category, Product, Variant, VariantSearch
from catalog.search import (
    FOLD_FROM,
    FOLD_MULTI,
    fold,
    lexemes,
    product_search,
    product_variants,
    query_terms,
)
from catalog.selectors import variant_search
from inventory.services.imports.jobs import import_job_create, import_job_run

EAN_TEE = ean13_from("376100000001")
EAN_SCARF = ean13_from("376200000002")


@pytest.fixture
def catalogue(db):
    """A small French shop: tops (T-shirts, shirts), accessories."""
    tops = services.category_save(name="Hauts", slug="hauts")
    tees = services.category_save(name="T-shirts", slug="t-shirts", parent=tops)
    shirts = services.category_save(name="Chemises", slug="chemises", parent=tops)
    accessories = services.category_save(name="Accessoires", slug="accessoires")
    vat = Decimal("20.0")

    tee = services.product_create(name="T-shirt Été", vat_rate=vat, brand="Armor", category=tees)
    for sku, size, colour, codes in [
        ("TSH-ECR-S", "S", "Écru", [EAN_TEE]),
        ("TSH-ECR-M", "M", "Écru", []),
        ("TSH-NAV-M", "M", "Navy", []),
    ]:
        services.variant_create(
            product=tee,
            sku=sku,
            price_amount=Decimal("19.90"),
            attributes={"taille": size, "couleur": colour},
            barcodes=codes,
        )
    vneck = services.product_create(name="Tshirt col V", vat_rate=vat, category=tees)
    services.variant_create(product=vneck, sku="TCV-BLA-M", price_amount=Decimal("15.00"))
    shirt = services.product_create(name="Chemise en lin", vat_rate=vat, category=shirts)
    services.variant_create(
        product=shirt,
        sku="CHE-LIN-40",
        price_amount=Decimal("49.00"),
        attributes={"taille": "40", "couleur": "Écru"},
    )
    jacket = services.product_create(name="Veste écrue", vat_rate=vat, category=tops)
    services.variant_create(product=jacket, sku="VES-01", price_amount=Decimal("89.00"))
    scarf = services.product_create(name="Écharpe laine", vat_rate=vat, category=accessories)
    services.variant_create(
        product=scarf,
        sku="ECH-LAI-ROU",
        price_amount=Decimal("29.00"),
        attributes={"matière": "Laine et lin"},
        barcodes=[EAN_SCARF],
    )
    # A product whose SKU is exactly a word of other products' names.
    zouave = services.product_create(name="Zouave", vat_rate=vat)
    services.variant_create(product=zouave, sku="LIN", price_amount=Decimal("5.00"))
    return {"tee": tee, "shirt": shirt, "scarf": scarf, "tees": tees, "tops": tops}


def names(matches) -> list[str]:
    return [m.product.name for m in matches]


def skus(match) -> list[str]:
    return [v.sku for v in match.variants]


# --------------------------------------------------------------------------- what it finds


@pytest.mark.parametrize("typed", ["tshirt", "t-shirt", "T-SHIRT", "t shirt", "tee-shirt ete"])
def test_a_tshirt_is_found_however_the_seller_types_it(catalogue, typed):
    found = names(product_search(text=typed))

    if typed == "tee-shirt ete":  # "teeshirt" is not a prefix of anything
        assert found == []
    else:
        assert found == ["T-shirt Été", "Tshirt col V"]


def test_words_are_anded_across_name_and_attributes(catalogue):
    [match] = product_search(text="t-shirt navy")

    assert match.product.name == "T-shirt Été"
    assert skus(match) == ["TSH-NAV-M"]
    assert (match.matched, match.total, match.more) == (1, 3, 2)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ete", ["T-shirt Été"]),
        ("été", ["T-shirt Été"]),
        ("eté", ["T-shirt Été"]),
        ("ÉTÉ", ["T-shirt Été"]),
        ("echarpe", ["Écharpe laine"]),
        ("écharpe", ["Écharpe laine"]),
    ],
)
def test_accents_and_case_do_not_matter(catalogue, typed, expected):
    assert names(product_search(text=typed)) == expected


def test_the_start_of_a_word_is_enough(catalogue):
    assert names(product_search(text="chem")) == ["Chemise en lin"]
    assert names(product_search(text="ech lai")) == ["Écharpe laine"]


def test_category_names_and_their_parents_are_searched(catalogue):
    assert names(product_search(text="accessoires")) == ["Écharpe laine"]
    # "Hauts" is the parent of T-shirts and Chemises, and the category of the jacket.
    assert names(product_search(text="hauts")) == [
        "Chemise en lin",
        "T-shirt Été",
        "Tshirt col V",
        "Veste écrue",
    ]


def test_sku_and_barcode_prefixes_find_their_variant(catalogue):
    [by_sku] = product_search(text="tsh-ecr")
    [by_sku_typed_without_hyphens] = product_search(text="tshnav")
    [by_barcode] = product_search(text=EAN_SCARF[:5])

    assert skus(by_sku) == ["TSH-ECR-S", "TSH-ECR-M"]
    assert skus(by_sku_typed_without_hyphens) == ["TSH-NAV-M"]
    assert by_barcode.product.name == "Écharpe laine"


def test_an_exact_sku_or_barcode_comes_first_then_name_matches_then_the_rest(catalogue):
    # "lin": the SKU LIN exactly, the name "Chemise en lin", the scarf's material.
    assert names(product_search(text="lin")) == ["Zouave", "Chemise en lin", "Écharpe laine"]
    # "écru": the jacket's name before the colour of the tee and the shirt ("C" < "V").
    assert names(product_search(text="écru")) == ["Veste écrue", "Chemise en lin", "T-shirt Été"]
    # An exact barcode: its variant first within its product too.
    [match] = product_search(text=EAN_TEE)
    assert skus(match) == ["TSH-ECR-S"]
    [match] = product_search(text="tsh-ecr-m")
    assert skus(match) == ["TSH-ECR-M"]


def test_results_are_grouped_by_product_with_a_count_of_the_others(catalogue):
    [tee] = product_search(text="armor", per_product=2)

    assert skus(tee) == ["TSH-ECR-S", "TSH-ECR-M"]
    assert (tee.matched, tee.total, tee.more) == (3, 3, 1)
    everything = product_variants(product_id=tee.product.pk)
    assert skus(everything) == ["TSH-ECR-S", "TSH-ECR-M", "TSH-NAV-M"]


def test_inactive_variants_and_products_are_not_found(catalogue):
    services.variant_update(variant=Variant.objects.get(sku="TSH-NAV-M"), is_active=False)
    services.product_update(product=catalogue["scarf"], is_active=False)

    assert product_search(text="navy") == []
    assert product_search(text="echarpe") == []
    [tee] = product_search(text="t-shirt ete")
    assert (tee.matched, tee.total) == (2, 2)
    assert product_variants(product_id=catalogue["scarf"].pk) is None


@pytest.mark.parametrize("typed", ["", "   ", "-", "'", "«»", "&|!():*", "\\"])
def test_nothing_to_look_for_finds_nothing_and_never_fails(catalogue, typed):
    assert product_search(text=typed) == []


def test_tsquery_syntax_in_what_is_typed_is_only_text(catalogue):
    assert names(product_search(text="chem:* | ech")) == []
    assert names(product_search(text="chem & lin")) == ["Chemise en lin"]
    assert names(product_search(text="l'été")) == []  # "l" and "ete": nothing has both
    assert names(product_search(text="t-shirt (été)")) == ["T-shirt Été"]


def test_the_search_is_two_queries_whatever_it_finds(catalogue, django_assert_num_queries):
    with django_assert_num_queries(2):
        found = product_search(text="e")
    assert len(found) == 4


def test_the_search_uses_the_gin_index(catalogue):
    """With sequential scans priced out the search's own plan reads the products'
    index: the query is written so that the index applies (no function around the
    document)."""
    from catalog.search import _search_sql, tsquery

    params = {"raw": "chem lin", "query": tsquery(["chem", "lin"]), "candidates": 40}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + _search_sql(), {**params, "offset": 0})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "product_search_document_idx" in plan


def test_a_product_is_shown_only_if_one_variant_holds_every_word(catalogue):
    """The tee has an écru S and M and a navy M: "écru m" is its écru M; "navy écru",
    none (its variants hold both words, no variant holds the two)."""
    [tee] = product_search(text="t-shirt ecru m")
    assert skus(tee) == ["TSH-ECR-M"]
    assert product_search(text="navy ecru") == []


def test_more_products_than_a_round_of_candidates(db):
    """Candidates come by pages; those whose variants hold the words only together are
    dropped and the next page is read."""
    vat = Decimal("20.0")
    for n in range(45):  # "Pull 00" … "Pull 44": a red S and a blue M each, no red M
        pull = services.product_create(name=f"Pull {n:02d}", vat_rate=vat)
        for size, colour in [("S", "Rouge"), ("M", "Bleu")]:
            services.variant_create(
                product=pull,
                sku=f"P{n}-{size}",
                price_amount=Decimal("30"),
                attributes={"taille": size, "couleur": colour},
            )
    services.variant_create(
        product=Product.objects.get(name="Pull 44"),
        sku="P44-M-R",
        price_amount=Decimal("30"),
        attributes={"taille": "M", "couleur": "Rouge"},
    )

    [found] = product_search(text="pull rouge m")

    assert (found.product.name, skus(found)) == ("Pull 44", ["P44-M-R"])


def test_product_documents_follow_their_variants(catalogue):
    from catalog.models import ProductSearch

    scarf = catalogue["scarf"]
    assert ProductSearch.objects.get(product=scarf).active
    services.variant_update(variant=Variant.objects.get(sku="ECH-LAI-ROU"), is_active=False)
    assert not ProductSearch.objects.get(product=scarf).active
    assert product_search(text="echarpe") == []
    services.variant_update(variant=Variant.objects.get(sku="ECH-LAI-ROU"), is_active=True)
    assert names(product_search(text="echarpe")) == ["Écharpe laine"]


def test_variant_search_lists_variants_best_first(catalogue):
    assert [v.sku for v in variant_search(text="lin")] == ["LIN", "CHE-LIN-40", "ECH-LAI-ROU"]
    assert [v.sku for v in variant_search(text="tsh", limit=2)] == ["TSH-ECR-S", "TSH-ECR-M"]


# --------------------------------------------------------------------------- normalisation


def test_the_database_folds_text_as_python_does(db):
    sample = FOLD_FROM + "".join(FOLD_MULTI) + "Ça coûte 12,50 € — l’œuf « bio » 漢字 Ω ŒUVRE"
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalog_search_fold(%s)", [sample])
        assert cursor.fetchone()[0] == fold(sample)


@pytest.mark.parametrize(
    "text",
    [
        "T-shirt Écru l’été",
        "TSH-NAV-M 3760000000017",
        "Pull marin 1.5/2 __x__ --y-- a.b.c",
        "Œuvre cœur ÆTHER straße",
        "Çà et là, « guillemets » : 漢字 — fin…",
    ],
)
def test_the_database_makes_the_same_lexemes_as_python(db, text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalog_search_lexemes(%s)", [text])
        assert set(cursor.fetchone()[0]) == lexemes(text)


def test_a_hyphenated_word_is_indexed_split_and_joined():
    assert lexemes("T-shirt") == {"t-shirt", "t", "shirt", "tshirt"}
    assert query_terms("T-shirt  navy t-shirt") == ["tshirt", "navy"]


# --------------------------------------------------------------------------- kept fresh


def document_of(sku: str) -> set[str]:
    """The lexemes of a variant's stored document."""
    search = VariantSearch.objects.get(variant__sku=sku)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(%s::tsvector)", [str(search.document)])
        return set(cursor.fetchone()[0])


def test_every_variant_gets_its_document_when_created(catalogue):
    assert VariantSearch.objects.count() == Variant.objects.count() == 8
    assert {"t-shirt", "tshirt", "ete", "armor", "ecru", "hauts", "tsh-ecr-s", EAN_TEE} <= (
        document_of("TSH-ECR-S")
    )


def test_renaming_a_product_through_the_service(catalogue):
    services.product_update(product=catalogue["shirt"], name="Chemisette légère")

    assert names(product_search(text="legere")) == ["Chemisette légère"]
    document = document_of("CHE-LIN-40")
    assert {"chemisette", "legere", "chemises"} <= document  # "Chemises": its category
    assert not {"chemise", "en"} & document
    assert names(product_search(text="chemise en")) == []


def test_renaming_and_moving_categories_through_the_service(catalogue):
    services.category_save(
        category=catalogue["tops"], name="Haut du corps", slug="hauts", parent=None
    )
    assert names(product_search(text="corps t-shirt")) == ["T-shirt Été", "Tshirt col V"]
    assert product_search(text="hauts") == []

    accessories = Category.objects.get(slug="accessoires")
    services.category_save(
        category=catalogue["tees"], name="T-shirts", slug="t-shirts", parent=accessories
    )
    assert names(product_search(text="accessoires")) == [
        "Écharpe laine",
        "T-shirt Été",
        "Tshirt col V",
    ]


def test_variant_sku_attributes_and_barcodes_through_the_services(catalogue):
    navy = Variant.objects.get(sku="TSH-NAV-M")
    services.variant_update(variant=navy, sku="TSH-MAR-M", attributes={"couleur": "Marine"})
    services.barcode_add(variant=navy, code=ean13_from("376000000099"))

    assert skus(product_search(text="marine")[0]) == ["TSH-MAR-M"]
    assert product_search(text="navy") == []
    assert skus(product_search(text="tsh-mar")[0]) == ["TSH-MAR-M"]
    assert skus(product_search(text="376000000099")[0]) == ["TSH-MAR-M"]

    services.barcode_remove(variant=navy, code=ean13_from("376000000099"))
    assert product_search(text="376000000099") == []


def test_renaming_in_the_admin(catalogue, admin_client):
    shirt = catalogue["shirt"]
    response = admin_client.post(
        reverse("admin:catalog_product_change", args=[shirt.pk]),
        {
            "name": "Surchemise",
            "brand": "",
            "description": "",
            "category": shirt.category_id,
            "vat_rate": "20.0",
            "is_active": "on",
            **management("variants"),
            **management("images"),
            **management("history"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert names(product_search(text="surch")) == ["Surchemise"]
    assert names(product_search(text="chemise en lin")) == []


def test_a_category_renamed_in_the_admin(catalogue, admin_client):
    response = admin_client.post(
        reverse("admin:catalog_category_change", args=[catalogue["tees"].pk]),
        {"name": "Tee-shirts", "slug": "t-shirts", "parent": catalogue["tops"].pk, "position": 0},
    )
    assert response.status_code == 302

    assert names(product_search(text="teeshirts")) == ["T-shirt Été", "Tshirt col V"]


def test_a_variant_changed_in_the_admin(catalogue, admin_client):
    variant = Variant.objects.get(sku="VES-01")
    response = admin_client.post(
        reverse("admin:catalog_variant_change", args=[variant.pk]),
        {
            "sku": "VES-KAKI-01",
            "attributes": '{"couleur": "Kaki"}',
            "price_amount": "89.00",
            "is_active": "on",
            **management("barcodes"),
            **management("channel_prices"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert skus(product_search(text="veste kaki")[0]) == ["VES-KAKI-01"]


def test_renaming_through_the_product_import(catalogue):
    header = ["sku", "product", "category", "vat_rate", "price", "attr:couleur"]
    rows = [header, ["CHE-LIN-40", "Chemise lin lavé", "chemises", "20", "49.00", "Sable"]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    job = import_job_create(kind="products", filename="p.csv", content=out.getvalue(), user=None)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done", job.errors

    assert names(product_search(text="lave sable")) == ["Chemise lin lavé"]


def test_bulk_writes_and_plain_sql_keep_documents_fresh(catalogue):
    """Paths that skip every service: bulk_create, QuerySet.update, SQL."""
    product = Product.objects.create(name="Bonnet côtelé", vat_rate=Decimal("20.0"))
    Variant.objects.bulk_create(
        [Variant(product=product, sku=f"BON-{n}", price_amount=Decimal("12.00")) for n in range(3)]
    )
    assert product_search(text="bonnet cotele")[0].matched == 3

    Product.objects.filter(pk=product.pk).update(name="Béret")
    assert names(product_search(text="beret")) == ["Béret"]
    assert product_search(text="bonnet") == []

    Barcode.objects.bulk_create(
        [Barcode(variant=Variant.objects.get(sku="BON-1"), code=ean13_from("376000000077"))]
    )
    assert skus(product_search(text="37600000007")[0]) == ["BON-1"]

    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_category SET name = 'Foulards' WHERE slug = 'accessoires'")
    assert names(product_search(text="foulards")) == ["Écharpe laine"]


def test_deleting_a_variant_deletes_its_document(catalogue):
    product = Product.objects.create(name="Chaussettes", vat_rate=Decimal("20.0"))
    variant = Variant.objects.create(product=product, sku="CHA-1", price_amount=Decimal("5"))
    Barcode.objects.create(variant=variant, code=ean13_from("376000000055"))

    variant.delete()

    assert not VariantSearch.objects.filter(variant_id=variant.pk).exists()
    assert product_search(text="chaussettes") == []


# --------------------------------------------------------------------------- helpers


def management(prefix: str) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("claire", "c@example.com", "pw-claire-1")
    client.force_login(user)
    return client
