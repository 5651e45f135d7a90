"""The till's search as the seller types, at 100,000 variants (issue 12).

A seller's browser (a logged-in session at a register) sends the scan field's
search-as-you-type request, ``GET /pos/sell/?code=<typed>`` with ``HX-Request``, with 4
concurrent connections, against gunicorn with persistent database connections. What is
typed mixes the ways sellers look for things: the start of a word (``chem``), words
with or without their accents and hyphens (``tshirt marine``, ``t-shirt``, ``ecru``,
``été``), several words, a SKU or barcode prefix, a whole barcode, a word matching
thousands of variants (a size, a colour). Each answer is the results partial: the
matching products grouped, their variants with the units here and their pictures.
    .venv/bin/python bench/bench_pos_search.py      (or: make bench NAMES=pos_search)

The data (10,000 products of French names in 40 categories, 100,000 variants with an
EAN-13 each, stock in a store and a warehouse) is generated once in SQL and kept in the
bench database; the search documents are written by the catalogue's own triggers.
"""

import os
import time
from urllib.parse import quote

from common import (
    django_setup,
    gunicorn,
    load,
    now_iso,
    report,
    stack,
    stock_opening_movements,
    vacuum_analyze,
)

VARIANTS = int(os.environ.get("BENCH_VARIANTS", "100000"))
VARIANTS_PER_PRODUCT = 10  # 5 sizes × 2 colours
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CONCURRENCY = 4
SELLER = "bench-seller"

TYPES = [
    # (category, parent, product types of it)
    ("T-shirts", "Hauts", ["T-shirt", "Tee-shirt", "Débardeur"]),
    ("Chemises", "Hauts", ["Chemise", "Chemisette", "Blouse"]),
    ("Pulls", "Maille", ["Pull", "Gilet", "Cardigan"]),
    ("Sweats", "Maille", ["Sweat", "Sweat à capuche", "Marinière"]),
    ("Pantalons", "Bas", ["Pantalon", "Jean", "Chino"]),
    ("Jupes", "Bas", ["Jupe", "Short", "Bermuda"]),
    ("Robes", "Robes", ["Robe", "Robe d'été", "Combinaison"]),
    ("Vestes", "Manteaux", ["Veste", "Blouson", "Manteau", "Parka", "Trench"]),
    ("Accessoires", "Accessoires", ["Écharpe", "Bonnet", "Ceinture", "Foulard", "Casquette"]),
    ("Chaussettes", "Accessoires", ["Chaussettes", "Collants"]),
]
QUALIFIERS = [
    "en lin",
    "col V",
    "col rond",
    "rayé",
    "côtelé",
    "manches longues",
    "manches courtes",
    "oversize",
    "brodé",
    "en laine",
    "coton bio",
    "délavé",
    "imprimé fleuri",
    "à pois",
    "slim",
    "droit",
    "ample",
    "léger",
    "molletonné",
    "en velours",
    "à carreaux",
    "bord-côte",
    "sans manches",
    "à capuche",
    "en maille",
    "mérinos",
    "en soie",
]
BRANDS = ["Armor", "Saint-Malo", "Petit Bateau", "Maison Léon", "Atelier Côte", "Lou & Co"]
COLOURS = [
    "Écru",
    "Marine",
    "Noir",
    "Blanc",
    "Rouge",
    "Kaki",
    "Gris chiné",
    "Bleu ciel",
    "Rose poudré",
    "Vert sapin",
    "Moutarde",
    "Bordeaux",
    "Camel",
    "Terracotta",
]
SIZES = ["XS", "S", "M", "L", "XL"]

# What sellers type (search-as-you-type sends every pause, so prefixes too).
TYPED = [
    "tsh",
    "tshirt",
    "t-shirt",
    "t-shirt marine",
    "tshirt ecru m",
    "tee-shirt",
    "chem",
    "chemise lin",
    "chemise en lin",
    "chemisette",
    "pull",
    "pull col v",
    "pull mérinos",
    "gilet",
    "marinière",
    "mariniere rayee",
    "robe",
    "robe d'été",
    "robe ete",
    "jean",
    "jean slim",
    "chino",
    "veste",
    "veste velours",
    "parka",
    "trench",
    "echarpe",
    "écharpe laine",
    "bonnet",
    "bonnet cote",
    "ceinture",
    "chaussettes",
    "foulard soie",
    "armor",
    "petit bateau",
    "maison leon",
    "ecru",
    "écru",
    "marine",
    "bleu ciel",
    "rose poudre",
    "vert",
    "kaki xl",
    "hauts",
    "accessoires",
    "maille",
    "PS0001",
    "PS0123",
    "PS00456-",
    "ps01234",
    "3760000",
    "37600012",
    "376000123",
    "m",
    "l",
    "xs",
    "ma",
    "co",  # thousands of matches each
]


def generate() -> dict:
    """The catalogue and stock in SQL (skipped when already there)."""
    from django.db import connection, transaction

    from catalog.models import Variant

    started = time.monotonic()
    store, warehouse, register = _store()
    if Variant.objects.filter(sku__startswith="PS").count() >= VARIANTS:
        return {"generated": False, "seconds": 0, "register": register.pk}
    products = VARIANTS // VARIANTS_PER_PRODUCT
    with transaction.atomic(), connection.cursor() as cursor:
        _catalog_insert(cursor, products, _categories())
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (variant_id, location_id, on_hand, reserved,
                                              incoming, safety, updated_at)
            SELECT v.id, l.id, CASE WHEN l.id = %(store)s THEN (v.id * 7) %% 5
                                    ELSE (v.id * 13) %% 30 END, 0, 0, 0, now()
              FROM catalog_variant v CROSS JOIN unnest(%(locations)s::bigint[]) AS l(id)
             WHERE v.sku LIKE 'PS%%'
            """,
            {"store": store.pk, "locations": [store.pk, warehouse.pk]},
        )
        stock_opening_movements(cursor, [store.pk, warehouse.pk])
    vacuum_analyze()
    return {
        "generated": True,
        "seconds": round(time.monotonic() - started, 1),
        "register": register.pk,
    }


def _store():
    """The store with its channel, register and seller, and the warehouse."""
    from django.contrib.auth import get_user_model

    from inventory.models import Location
    from pos.models import Register
    from unicommerce.access.roles import role_permissions
    from unicommerce.channels.models import SalesChannel

    store_channel, _ = SalesChannel.objects.get_or_create(
        code="bench-pos-store", defaults={"name": "Bench POS store", "kind": "store"}
    )
    store, _ = Location.objects.get_or_create(
        code="bench-pos-store", defaults={"name": "Paris Rivoli", "kind": "store"}
    )
    warehouse, _ = Location.objects.get_or_create(
        code="bench-pos-warehouse", defaults={"name": "Entrepôt", "kind": "warehouse"}
    )
    store.channels.add(store_channel)
    register, _ = Register.objects.get_or_create(
        code="bench-pos-1",
        defaults={"name": "Caisse 1", "location": store, "channel": store_channel},
    )
    user, created = get_user_model().objects.get_or_create(username=SELLER)
    if created:
        user.set_password("bench-seller-pass")
        user.save()
        user.user_permissions.add(*role_permissions("seller"))
    store.staff.add(user)
    return store, warehouse, register


def _categories() -> list[tuple[int, str]]:
    """Each product type with its category's id (the categories made under their parents)."""
    from catalog.models import Category

    categories = []
    for name, parent_name, types in TYPES:
        parent, _ = Category.objects.get_or_create(
            slug=f"bench-{parent_name.lower()}", defaults={"name": parent_name}
        )
        category, _ = Category.objects.get_or_create(
            slug=f"bench-{name.lower()}", defaults={"name": name, "parent": parent}
        )
        categories.extend((category.pk, kind) for kind in types)
    return categories


def _catalog_insert(cursor, products: int, categories: list[tuple[int, str]]) -> None:
    """The products (names of a type and a qualifier, a brand), their variants (sizes ×
    colours) and an EAN-13 each."""
    cursor.execute(
        """
        INSERT INTO catalog_product (name, category_id, description, brand, vat_rate,
                                     is_active, created_at, updated_at)
        SELECT k.kind || ' ' || q.qualifiers[1 + (g * 7) %% cardinality(q.qualifiers)]
               || CASE WHEN g %% 3 = 0 THEN ' ' || (g %% 97) ELSE '' END,
               k.category, '', b.brands[1 + g %% cardinality(b.brands)], 20.0, true,
               now(), now()
          FROM generate_series(1, %(products)s) AS g
          JOIN LATERAL (
              SELECT kind, category FROM unnest(%(kinds)s::text[], %(cats)s::bigint[])
                  WITH ORDINALITY AS t(kind, category, n)
               WHERE n = 1 + g %% cardinality(%(kinds)s::text[])
          ) AS k ON true
         CROSS JOIN (SELECT %(qualifiers)s::text[] AS qualifiers) AS q
         CROSS JOIN (SELECT %(brands)s::text[] AS brands) AS b
        RETURNING id
        """,
        {
            "products": products,
            "kinds": [kind for _pk, kind in categories],
            "cats": [pk for pk, _kind in categories],
            "qualifiers": QUALIFIERS,
            "brands": BRANDS,
        },
    )
    product_ids = [row[0] for row in cursor.fetchall()]
    # One statement: the variants' search documents are written by the triggers.
    cursor.execute(
        """
        INSERT INTO catalog_variant (product_id, sku, attributes, price_amount, currency,
                                     is_active)
        SELECT p.id, 'PS' || lpad((p.ord * 10 + v.n)::text, 7, '0') || '-'
                   || upper(left(translate(c.colour, 'ÉéèêôÔ ', 'EeeeoO-'), 3))
                   || '-' || s.size,
               jsonb_build_object('taille', s.size, 'couleur', c.colour),
               round((9.90 + (p.ord %% 90))::numeric, 2), 'EUR', true
          FROM unnest(%(products)s::bigint[]) WITH ORDINALITY AS p(id, ord)
         CROSS JOIN LATERAL (SELECT n, (n - 1) / 5 AS colour_n, (n - 1) %% 5 AS size_n
                               FROM generate_series(1, 10) AS n) AS v
         CROSS JOIN LATERAL (
               SELECT colours[1 + (p.ord + v.colour_n * 5) %% cardinality(colours)] AS colour
                 FROM (SELECT %(colours)s::text[] AS colours) AS k
         ) AS c
         CROSS JOIN LATERAL (SELECT (%(sizes)s::text[])[1 + v.size_n] AS size) AS s
        """,
        {"products": product_ids, "colours": COLOURS, "sizes": SIZES},
    )
    cursor.execute(
        """
        INSERT INTO catalog_barcode (variant_id, code, created_at)
        SELECT id, '376' || lpad(id::text, 10, '0'), now()
          FROM catalog_variant WHERE sku LIKE 'PS%%'
        """
    )


def seller_session(register_id: int):
    """A test client logged in as the seller at the register, and its session cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(_seller())
    response = client.post("/pos/", {"register": register_id})
    assert response.status_code == 302, response.content[:500]
    name = settings.SESSION_COOKIE_NAME
    return client, f"{name}={client.cookies[name].value}"


def _seller():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=SELLER)


def queries_per_request(client) -> dict:
    """Queries of one search request: the fewest and the most over what is typed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for typed in TYPED:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/pos/sell/", {"code": typed}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content[:500]
        counts.append(len(queries))
    return {"min": min(counts), "max": max(counts)}


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        data = generate()
        client, session = seller_session(data["register"])
        queries = queries_per_request(client)
        paths = [f"/pos/sell/?code={quote(typed)}" for typed in TYPED]
        with gunicorn() as address:
            ceiling = load(
                address, ["/bench/one-query"], concurrency=CONCURRENCY, seconds=SECONDS / 2
            )
            figures = load(
                address,
                paths,
                concurrency=CONCURRENCY,
                seconds=SECONDS,
                headers={"Cookie": session, "HX-Request": "true"},
            )
        figures["queries_per_request"] = queries["max"]
        figures["queries_per_request_min"] = queries["min"]
        figures["ceiling_rps"] = ceiling["rps"]
        figures["ceiling_errors"] = ceiling["errors"]
        report(
            "pos_search",
            started_at=started_at,
            workload={
                "variants": VARIANTS,
                "products": VARIANTS // VARIANTS_PER_PRODUCT,
                "typed": len(TYPED),
                "concurrency": CONCURRENCY,
                "seconds": SECONDS,
                "data_generated_seconds": data["seconds"],
                "caller": "a seller's session at a register, through the permission table",
            },
            figures=figures,
            targets={
                "p99_ms": "<= 50",
                "errors": "<= 0",
                "ceiling_errors": "<= 0",
            },
        )


if __name__ == "__main__":
    main()
