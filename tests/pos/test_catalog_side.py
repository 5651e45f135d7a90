"""The left side of the till: a product grid by category with nothing typed, results
grouped by product when something is, a tile's "more", and the stock panel that always
lists this store first, even at 0."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import Product
from inventory.services.stock import stock_receive
from pos.selectors import GRID_PAGE
from tests.factories import LocationFactory
from tests.pos.conftest import HX, SELL

VAT = Decimal("20.0")


@pytest.fixture
def seller_client(client, shop):
    client.force_login(shop.seller)
    client.post("/pos/", {"register": shop.register.pk})
    return client


@pytest.fixture
def rayons(shop):
    """Tops › T-shirts, accessories; a tee in three variants, a scarf, a belt."""
    tops = services.category_save(name="Hauts", slug="hauts")
    tees = services.category_save(name="T-shirts", slug="t-shirts", parent=tops)
    accessories = services.category_save(name="Accessoires", slug="accessoires")
    tee = services.product_create(name="T-shirt Été", vat_rate=VAT, category=tees)
    variants = {}
    for sku, colour, price in [
        ("TSH-ECR-M", "Écru", "19.90"),
        ("TSH-NAV-M", "Navy", "19.90"),
        ("TSH-ROU-M", "Rouge", "22.00"),
    ]:
        variants[sku] = services.variant_create(
            product=tee, sku=sku, price_amount=Decimal(price), attributes={"couleur": colour}
        )
    scarf = services.product_create(name="Écharpe laine", vat_rate=VAT, category=accessories)
    variants["ECH-1"] = services.variant_create(
        product=scarf, sku="ECH-1", price_amount=Decimal("29.00")
    )
    belt = services.product_create(name="Ceinture cuir", vat_rate=VAT, category=accessories)
    variants["CEI-1"] = services.variant_create(
        product=belt, sku="CEI-1", price_amount=Decimal("35.00")
    )
    stock_receive(variant_id=variants["TSH-ECR-M"].pk, location_id=shop.store.pk, quantity=4)
    stock_receive(variant_id=variants["TSH-NAV-M"].pk, location_id=shop.store.pk, quantity=1)
    stock_receive(variant_id=variants["ECH-1"].pk, location_id=shop.warehouse.pk, quantity=6)
    return variants


def tiles(html: str) -> list[str]:
    """The product names of the tiles, in order."""
    return re.findall(r'<h3 class="tile-name">([^<]*)</h3>', html)


def tile_of(html: str, name: str) -> str:
    for article in re.findall(r"<article.*?</article>", html, re.S):
        if f'<h3 class="tile-name">{name}</h3>' in article:
            return article
    raise AssertionError(f"no tile for {name}")


# --------------------------------------------------------------------------- the grid


def test_the_sale_screen_opens_on_the_product_grid(seller_client, rayons):
    html = seller_client.get(SELL).content.decode()

    assert tiles(html) == ["Ceinture cuir", "Écharpe laine", "T-shirt Été"]  # accents aside
    chips = re.findall(r'class="chip[^"]*"[^>]*data-category="([^"]*)"', html)
    assert chips == ["", "accessoires", "hauts"]  # All, then the top level
    tee = tile_of(html, "T-shirt Été")
    assert "from €19.90" in tee
    assert "5 here" in tee
    assert 'class="tile-placeholder"' in tee  # no picture yet: a neutral placeholder
    assert "<img" not in tee
    # Several variants: a tap opens the tile; one variant: a tap adds it.
    assert f"?product={rayons['TSH-ECR-M'].product_id}" in tee
    belt = tile_of(html, "Ceinture cuir")
    assert 'name="action" value="add"' in belt
    assert f'name="variant" value="{rayons["CEI-1"].pk}"' in belt
    assert "0 here" in belt


def test_a_category_chip_shows_its_products_and_its_subcategories(seller_client, rayons):
    response = seller_client.get(SELL, {"browse": "hauts"}, **HX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="grid"')
    assert tiles(html) == ["T-shirt Été"]  # from the subcategory T-shirts
    chips = re.findall(r'class="chip[^"]*"[^>]*data-category="([^"]*)"', html)
    assert chips == ["", "accessoires", "hauts", "t-shirts"]
    assert re.search(r'class="chip on"[^>]*data-category="hauts"', html)

    html = seller_client.get(SELL, {"browse": "t-shirts"}, **HX).content.decode()
    assert tiles(html) == ["T-shirt Été"]
    assert 'data-category="hauts">‹ Hauts</a>' in html  # a chip back up

    html = seller_client.get(SELL, {"browse": "accessoires"}, **HX).content.decode()
    assert tiles(html) == ["Ceinture cuir", "Écharpe laine"]


def test_an_unknown_category_shows_every_product(seller_client, rayons):
    html = seller_client.get(SELL, {"browse": "nope"}, **HX).content.decode()

    assert tiles(html) == ["Ceinture cuir", "Écharpe laine", "T-shirt Été"]


def test_the_grid_pages(seller_client, shop, db):
    for n in range(GRID_PAGE + 1):
        product = services.product_create(name=f"Produit {n:02d}", vat_rate=VAT)
        services.variant_create(product=product, sku=f"P-{n}", price_amount=Decimal("1"))

    first = seller_client.get(SELL, {"browse": ""}, **HX).content.decode()
    second = seller_client.get(SELL, {"browse": "", "page": "2"}, **HX).content.decode()

    assert len(tiles(first)) == GRID_PAGE
    assert 'class="next"' in first
    assert 'class="previous"' not in first
    assert tiles(second) == [f"Produit {GRID_PAGE:02d}"]
    assert 'class="previous"' in second
    assert 'class="next"' not in second


def test_products_without_an_active_variant_are_not_in_the_grid(seller_client, rayons):
    Product.objects.create(name="Sans variante", vat_rate=VAT)
    services.variant_update(variant=rayons["CEI-1"], is_active=False)

    html = seller_client.get(SELL, {"browse": ""}, **HX).content.decode()

    assert tiles(html) == ["Écharpe laine", "T-shirt Été"]


# --------------------------------------------------------------------------- results


def test_results_are_grouped_by_product_with_their_matching_variants(seller_client, rayons):
    html = seller_client.get(SELL, {"code": "tshirt"}, **HX).content.decode()

    assert html.lstrip().startswith('<div id="results"')
    assert tiles(html) == ["T-shirt Été"]
    buttons = re.findall(r'class="result-button" data-sku="([^"]+)"', html)
    assert buttons == ["TSH-ECR-M", "TSH-NAV-M", "TSH-ROU-M"]
    assert "4 here" in html
    assert "1 here" in html

    html = seller_client.get(SELL, {"code": "t-shirt navy"}, **HX).content.decode()
    assert re.findall(r'class="result-button" data-sku="([^"]+)"', html) == ["TSH-NAV-M"]
    assert "2 more variants" in html
    assert f'hx-get="{SELL}?product={rayons["TSH-NAV-M"].product_id}"' in html


def test_more_shows_every_variant_of_the_product(seller_client, rayons):
    product_id = rayons["TSH-NAV-M"].product_id

    html = seller_client.get(SELL, {"product": str(product_id)}, **HX).content.decode()

    assert html.lstrip().startswith("<article")
    buttons = re.findall(r'class="result-button" data-sku="([^"]+)"', html)
    assert buttons == ["TSH-ECR-M", "TSH-NAV-M", "TSH-ROU-M"]
    assert "more variant" not in html


@pytest.mark.parametrize("product", ["0", "abc", "99999999", "１"])
def test_more_of_no_product_is_a_404(seller_client, rayons, product):
    response = seller_client.get(SELL, {"product": product}, **HX)

    assert response.status_code == 404


def test_nothing_typed_clears_the_results_so_the_grid_shows(seller_client, rayons):
    html = seller_client.get(SELL, {"code": "  "}, **HX).content.decode()

    assert tiles(html) == []
    assert "No product matches" not in html


def test_a_search_partial_costs_the_same_queries_for_one_product_or_many(seller_client, rayons):
    def count(text: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            html = seller_client.get(SELL, {"code": text}, **HX).content.decode()
        return len(queries), len(tiles(html))

    one = count("ceinture")  # one product, one variant
    two = count("accessoires")  # two products
    three_variants = count("tshirt")  # one product, three variants

    assert [one[1], two[1], three_variants[1]] == [1, 2, 1]
    assert one[0] == two[0] == three_variants[0]


def test_tapping_a_variant_of_a_result_adds_it(seller_client, rayons):
    variant = rayons["TSH-ROU-M"]

    response = seller_client.post(SELL, {"action": "add", "variant": variant.pk}, **HX)

    assert response.status_code == 200
    assert f'data-sku="{variant.sku}"' in response.content.decode()


# --------------------------------------------------------------------------- stock panel


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-location="([^"]+)"', html)


def test_the_stock_panel_lists_this_store_first_even_at_zero(seller_client, shop, rayons):
    bordeaux = LocationFactory(code="bordeaux", name="Bordeaux", kind="store")
    scarf = rayons["ECH-1"]  # six in the warehouse, none here, never any here
    stock_receive(variant_id=scarf.pk, location_id=bordeaux.pk, quantity=2)

    html = seller_client.get(SELL, {"stock": str(scarf.pk)}, **HX).content.decode()

    assert rows(html) == ["paris", "bordeaux", "warehouse"]
    here = re.search(r'<tr class="here" data-location="paris">.*?</tr>', html, re.S).group()
    assert re.findall(r'class="num[^"]*">(-?\d+)<', here) == ["0", "0", "0", "0"]
    assert "here</strong>" in here


def test_the_stock_panel_shows_this_store_first_when_it_has_some(seller_client, shop, rayons):
    bordeaux = LocationFactory(code="bordeaux", name="Bordeaux", kind="store")
    tee = rayons["TSH-ECR-M"]
    stock_receive(variant_id=tee.pk, location_id=bordeaux.pk, quantity=9)

    html = seller_client.get(SELL, {"stock": str(tee.pk)}, **HX).content.decode()

    assert rows(html) == ["paris", "bordeaux"]
    assert f'data-figure="stock:{tee.pk}:{shop.store.pk}:available" class="num available">4<' in (
        html
    )
