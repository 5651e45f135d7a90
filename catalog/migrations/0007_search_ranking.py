"""Issue 12, at 100,000 variants: a search finds and orders *products* first (a document
per product, a tenth of the rows), then checks which variants of the first ones match.
The variant's row also carries its product, its name folded and whether it is on sale.
The triggers keep both fresh on every write path; backfilled here."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = """
DROP FUNCTION IF EXISTS catalog_search_refresh(bigint[]);
DROP FUNCTION IF EXISTS catalog_search_upsert(bigint[]);
DROP FUNCTION IF EXISTS catalog_search_documents(bigint[]);

-- The search rows of these variants. ``unnest`` rather than ``= ANY(ids)``: a backfill
-- passes every id, and ANY over a long array is a scan of it per row.
CREATE FUNCTION catalog_search_documents(ids bigint[])
    RETURNS TABLE (variant_id bigint, product_id bigint, sort_name text, active boolean,
                   name_document tsvector, document tsvector)
    LANGUAGE sql STABLE AS $f$
    WITH RECURSIVE tree(id, names, depth) AS (
        SELECT id, name::text, 1 FROM catalog_category WHERE parent_id IS NULL
        UNION ALL
        SELECT c.id, t.names || ' ' || c.name, t.depth + 1
          FROM catalog_category c JOIN tree t ON c.parent_id = t.id
         WHERE t.depth < 32
    )
    SELECT v.id, p.id, catalog_search_fold(p.name), v.is_active AND p.is_active,
           catalog_search_vector(p.name, 'A'),
           catalog_search_vector(p.name, 'A')
        || catalog_search_vector(concat_ws(' ', v.sku,
               (SELECT string_agg(b.code, ' ') FROM catalog_barcode b
                 WHERE b.variant_id = v.id)), 'B')
        || catalog_search_vector(concat_ws(' ', p.brand,
               (SELECT string_agg(a.value, ' ')
                  FROM jsonb_each_text(CASE WHEN jsonb_typeof(v.attributes) = 'object'
                                            THEN v.attributes ELSE '{}'::jsonb END) a)), 'C')
        || catalog_search_vector(t.names, 'D')
      FROM (SELECT DISTINCT id FROM unnest(ids) AS i(id)) AS i
      JOIN catalog_variant v ON v.id = i.id
      JOIN catalog_product p ON p.id = v.product_id
      LEFT JOIN tree t ON t.id = p.category_id
$f$;

CREATE FUNCTION catalog_search_upsert(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    INSERT INTO catalog_variantsearch
           (variant_id, product_id, sort_name, active, name_document, document)
    SELECT d.variant_id, d.product_id, d.sort_name, d.active, d.name_document, d.document
      FROM catalog_search_documents(ids) d
        ON CONFLICT (variant_id) DO UPDATE
       SET product_id = EXCLUDED.product_id, sort_name = EXCLUDED.sort_name,
           active = EXCLUDED.active, name_document = EXCLUDED.name_document,
           document = EXCLUDED.document
$f$;

CREATE FUNCTION catalog_search_refresh(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    UPDATE catalog_variantsearch s
       SET product_id = d.product_id, sort_name = d.sort_name, active = d.active,
           name_document = d.name_document, document = d.document
      FROM catalog_search_documents(ids) d
     WHERE s.variant_id = d.variant_id
       AND (s.product_id, s.sort_name, s.active, s.name_document, s.document)
           IS DISTINCT FROM (d.product_id, d.sort_name, d.active, d.name_document, d.document)
$f$;

-- A product's row: its name, brand and categories, the SKUs, barcodes and attribute
-- values of its active variants; active when it and one of its variants are on sale.
CREATE FUNCTION catalog_search_product_documents(ids bigint[])
    RETURNS TABLE (product_id bigint, sort_name text, active boolean,
                   name_document tsvector, document tsvector)
    LANGUAGE sql STABLE AS $f$
    WITH RECURSIVE tree(id, names, depth) AS (
        SELECT id, name::text, 1 FROM catalog_category WHERE parent_id IS NULL
        UNION ALL
        SELECT c.id, t.names || ' ' || c.name, t.depth + 1
          FROM catalog_category c JOIN tree t ON c.parent_id = t.id
         WHERE t.depth < 32
    )
    SELECT p.id, catalog_search_fold(p.name), p.is_active AND va.n > 0,
           catalog_search_vector(p.name, 'A'),
           catalog_search_vector(p.name, 'A')
        || catalog_search_vector(va.codes, 'B')
        || catalog_search_vector(concat_ws(' ', p.brand, va.attributes), 'C')
        || catalog_search_vector(t.names, 'D')
      FROM (SELECT DISTINCT id FROM unnest(ids) AS i(id)) AS i
      JOIN catalog_product p ON p.id = i.id
      LEFT JOIN tree t ON t.id = p.category_id
     CROSS JOIN LATERAL (
           SELECT count(*) AS n,
                  string_agg(concat_ws(' ', v.sku,
                      (SELECT string_agg(b.code, ' ') FROM catalog_barcode b
                        WHERE b.variant_id = v.id)), ' ') AS codes,
                  string_agg((SELECT string_agg(a.value, ' ')
                                FROM jsonb_each_text(CASE WHEN jsonb_typeof(v.attributes) = 'object'
                                                          THEN v.attributes ELSE '{}'::jsonb END) a),
                             ' ') AS attributes
             FROM catalog_variant v
            WHERE v.product_id = p.id AND v.is_active
     ) AS va
$f$;

CREATE FUNCTION catalog_search_products_upsert(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    INSERT INTO catalog_productsearch (product_id, sort_name, active, name_document, document)
    SELECT d.product_id, d.sort_name, d.active, d.name_document, d.document
      FROM catalog_search_product_documents(ids) d
        ON CONFLICT (product_id) DO UPDATE
       SET sort_name = EXCLUDED.sort_name, active = EXCLUDED.active,
           name_document = EXCLUDED.name_document, document = EXCLUDED.document
     WHERE (catalog_productsearch.sort_name, catalog_productsearch.active,
            catalog_productsearch.name_document, catalog_productsearch.document)
           IS DISTINCT FROM (EXCLUDED.sort_name, EXCLUDED.active,
                             EXCLUDED.name_document, EXCLUDED.document)
$f$;

CREATE OR REPLACE FUNCTION catalog_search_variant_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_upsert(ARRAY(SELECT id FROM new_rows));
    PERFORM catalog_search_products_upsert(ARRAY(SELECT DISTINCT product_id FROM new_rows));
    RETURN NULL;
END $f$;

CREATE OR REPLACE FUNCTION catalog_search_variant_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_upsert(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.sku, n.attributes, n.product_id, n.is_active)
               IS DISTINCT FROM (o.sku, o.attributes, o.product_id, o.is_active)));
    PERFORM catalog_search_products_upsert(ARRAY(
        SELECT n.product_id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.sku, n.attributes, n.product_id, n.is_active)
               IS DISTINCT FROM (o.sku, o.attributes, o.product_id, o.is_active)
        UNION
        SELECT o.product_id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.product_id IS DISTINCT FROM o.product_id));
    RETURN NULL;
END $f$;

CREATE OR REPLACE FUNCTION catalog_search_product_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_refresh(ARRAY(
        SELECT v.id FROM catalog_variant v
          JOIN new_rows n ON n.id = v.product_id JOIN old_rows o ON o.id = n.id
         WHERE (n.name, n.brand, n.category_id, n.is_active)
               IS DISTINCT FROM (o.name, o.brand, o.category_id, o.is_active)));
    PERFORM catalog_search_products_upsert(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.name, n.brand, n.category_id, n.is_active)
               IS DISTINCT FROM (o.name, o.brand, o.category_id, o.is_active)));
    RETURN NULL;
END $f$;

CREATE OR REPLACE FUNCTION catalog_search_category_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
DECLARE
    products bigint[];
BEGIN
    products := ARRAY(
        WITH RECURSIVE changed(id, depth) AS (
            SELECT n.id, 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE (n.name, n.parent_id) IS DISTINCT FROM (o.name, o.parent_id)
            UNION
            SELECT c.id, ch.depth + 1 FROM catalog_category c JOIN changed ch ON c.parent_id = ch.id
             WHERE ch.depth < 32
        )
        SELECT p.id FROM catalog_product p WHERE p.category_id IN (SELECT id FROM changed));
    PERFORM catalog_search_refresh(ARRAY(
        SELECT v.id FROM catalog_variant v WHERE v.product_id = ANY(products)));
    PERFORM catalog_search_products_upsert(products);
    RETURN NULL;
END $f$;

CREATE OR REPLACE FUNCTION catalog_search_barcode_changed() RETURNS trigger
    LANGUAGE plpgsql AS $f$
DECLARE
    variants bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        variants := ARRAY(SELECT DISTINCT variant_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        variants := ARRAY(SELECT DISTINCT variant_id FROM old_rows);
    ELSE
        variants := ARRAY(SELECT variant_id FROM new_rows UNION SELECT variant_id FROM old_rows);
    END IF;
    PERFORM catalog_search_refresh(variants);
    PERFORM catalog_search_products_upsert(ARRAY(
        SELECT DISTINCT v.product_id FROM catalog_variant v
          JOIN unnest(variants) AS i(id) ON i.id = v.id));
    RETURN NULL;
END $f$;

SELECT catalog_search_upsert(ARRAY(SELECT id FROM catalog_variant));
SELECT catalog_search_products_upsert(ARRAY(SELECT id FROM catalog_product));
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_product_images"),
    ]

    operations = [
        migrations.AddField(
            model_name="variantsearch",
            name="product",
            field=models.ForeignKey(
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="catalog.product",
            ),
        ),
        migrations.AddField(
            model_name="variantsearch",
            name="sort_name",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="variantsearch",
            name="active",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.AddField(
            model_name="variantsearch",
            name="name_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.CreateModel(
            name="ProductSearch",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="catalog.product",
                    ),
                ),
                ("sort_name", models.TextField(default="", editable=False)),
                ("active", models.BooleanField(default=True, editable=False)),
                (
                    "name_document",
                    django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField(editable=False)),
            ],
            options={
                "verbose_name": "product search document",
                "verbose_name_plural": "product search documents",
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name="product_search_document_idx"
                    )
                ],
            },
        ),
        migrations.RunSQL(FUNCTIONS),  # irreversible: 0005's functions do not know these columns
    ]
