"""Issue 12: a search document per variant, kept fresh by the database itself.

The functions and statement-level triggers below build ``catalog_variantsearch.document``
on every write of a variant, a product, a barcode or a category, whatever wrote it (see
``catalog/search.py`` for the normalisation, which the fold map below copies and a test
checks against). Core PostgreSQL only: no ``unaccent``, no ``pg_trgm``.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

# Frozen copy of catalog.search.FOLD_FROM / FOLD_TO / FOLD_MULTI (a later change of the
# map needs a migration that recreates catalog_search_fold and rebuilds the documents).
FOLD_FROM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳØøĐđŁłÐð!"#$%&\'()*+,:;<=>?@[\\]^`{|}~\t\n\r\x0c\x0b\xa0\u202f\u2009’‘«»“”…·‐‑‒–—'
FOLD_TO = 'abcdefghijklmnopqrstuvwxyzaaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzsoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyyooddlldd                                            -----'
FOLD_MULTI = {'Œ': 'oe', 'œ': 'oe', 'Æ': 'ae', 'æ': 'ae', 'ß': 'ss', 'ẞ': 'ss', 'Þ': 'th', 'þ': 'th'}


def literal(text):
    return "'" + text.replace("'", "''") + "'"


FOLD_SQL = "translate(coalesce(t, ''), {}, {})".format(literal(FOLD_FROM), literal(FOLD_TO))
for a, b in FOLD_MULTI.items():
    FOLD_SQL = "replace({}, {}, {})".format(FOLD_SQL, literal(a), literal(b))

FUNCTIONS = """
CREATE FUNCTION catalog_search_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT %(fold)s $f$;

-- Each compound (words linked by - _ . /) whole, its words, and its words joined.
CREATE FUNCTION catalog_search_lexemes(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT coalesce(array_agg(DISTINCT l.x), '{}')
      FROM regexp_matches(catalog_search_fold(t), '[^ ./_-]+(?:[./_-][^ ./_-]+)*', 'g') AS m(c)
     CROSS JOIN LATERAL (
           SELECT m.c[1]
           UNION SELECT regexp_replace(m.c[1], '[./_-]', '', 'g')
           UNION SELECT regexp_split_to_table(m.c[1], '[./_-]')
     ) AS l(x)
     WHERE l.x <> '' AND octet_length(l.x) < 256
$f$;

-- Those lexemes with this weight. Weights live on positions, so each lexeme gets
-- position 1 (``array_to_tsvector`` would give none, and no weight).
CREATE FUNCTION catalog_search_vector(t text, w "char") RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT setweight(coalesce(
        (SELECT string_agg('''' || x || ''':1', ' ') FROM unnest(catalog_search_lexemes(t)) x),
        '')::tsvector, w)
$f$;

-- The documents of these variants: name A, SKU and barcodes B, brand and attribute
-- values C, the names of the product's category and its ancestors D.
CREATE FUNCTION catalog_search_documents(ids bigint[])
    RETURNS TABLE (variant_id bigint, document tsvector)
    LANGUAGE sql STABLE AS $f$
    WITH RECURSIVE tree(id, names, depth) AS (
        SELECT id, name::text, 1 FROM catalog_category WHERE parent_id IS NULL
        UNION ALL
        SELECT c.id, t.names || ' ' || c.name, t.depth + 1
          FROM catalog_category c JOIN tree t ON c.parent_id = t.id
         WHERE t.depth < 32
    )
    SELECT v.id,
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

-- Insert or refresh (a new or changed variant).
CREATE FUNCTION catalog_search_upsert(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    INSERT INTO catalog_variantsearch (variant_id, document)
    SELECT d.variant_id, d.document FROM catalog_search_documents(ids) d
        ON CONFLICT (variant_id) DO UPDATE SET document = EXCLUDED.document
$f$;

-- Refresh only (a product, a barcode or a category changed): never re-creates the
-- document of a variant being deleted.
CREATE FUNCTION catalog_search_refresh(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    UPDATE catalog_variantsearch s SET document = d.document
      FROM catalog_search_documents(ids) d
     WHERE s.variant_id = d.variant_id AND s.document IS DISTINCT FROM d.document
$f$;

CREATE FUNCTION catalog_search_variant_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_upsert(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END $f$;

CREATE FUNCTION catalog_search_variant_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_upsert(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.sku, n.attributes, n.product_id) IS DISTINCT FROM (o.sku, o.attributes, o.product_id)));
    RETURN NULL;
END $f$;

CREATE FUNCTION catalog_search_product_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_refresh(ARRAY(
        SELECT v.id FROM catalog_variant v
          JOIN new_rows n ON n.id = v.product_id JOIN old_rows o ON o.id = n.id
         WHERE (n.name, n.brand, n.category_id) IS DISTINCT FROM (o.name, o.brand, o.category_id)));
    RETURN NULL;
END $f$;

CREATE FUNCTION catalog_search_category_updated() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM catalog_search_refresh(ARRAY(
        WITH RECURSIVE changed(id, depth) AS (
            SELECT n.id, 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE (n.name, n.parent_id) IS DISTINCT FROM (o.name, o.parent_id)
            UNION
            SELECT c.id, ch.depth + 1 FROM catalog_category c JOIN changed ch ON c.parent_id = ch.id
             WHERE ch.depth < 32
        )
        SELECT v.id FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id
         WHERE p.category_id IN (SELECT id FROM changed)));
    RETURN NULL;
END $f$;

CREATE FUNCTION catalog_search_barcode_changed() RETURNS trigger
    LANGUAGE plpgsql AS $f$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM catalog_search_refresh(ARRAY(SELECT DISTINCT variant_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM catalog_search_refresh(ARRAY(SELECT DISTINCT variant_id FROM old_rows));
    ELSE
        PERFORM catalog_search_refresh(ARRAY(
            SELECT variant_id FROM new_rows UNION SELECT variant_id FROM old_rows));
    END IF;
    RETURN NULL;
END $f$;

CREATE TRIGGER catalog_search_variant_insert AFTER INSERT ON catalog_variant
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_variant_inserted();
CREATE TRIGGER catalog_search_variant_update AFTER UPDATE ON catalog_variant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_variant_updated();
CREATE TRIGGER catalog_search_product_update AFTER UPDATE ON catalog_product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_product_updated();
CREATE TRIGGER catalog_search_category_update AFTER UPDATE ON catalog_category
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_category_updated();
CREATE TRIGGER catalog_search_barcode_insert AFTER INSERT ON catalog_barcode
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_barcode_changed();
CREATE TRIGGER catalog_search_barcode_update AFTER UPDATE ON catalog_barcode
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_barcode_changed();
CREATE TRIGGER catalog_search_barcode_delete AFTER DELETE ON catalog_barcode
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_barcode_changed();

-- Backfill.
SELECT catalog_search_upsert(ARRAY(SELECT id FROM catalog_variant));
""".replace("%(fold)s", FOLD_SQL)

REVERSE = """
DROP TRIGGER IF EXISTS catalog_search_barcode_delete ON catalog_barcode;
DROP TRIGGER IF EXISTS catalog_search_barcode_update ON catalog_barcode;
DROP TRIGGER IF EXISTS catalog_search_barcode_insert ON catalog_barcode;
DROP TRIGGER IF EXISTS catalog_search_category_update ON catalog_category;
DROP TRIGGER IF EXISTS catalog_search_product_update ON catalog_product;
DROP TRIGGER IF EXISTS catalog_search_variant_update ON catalog_variant;
DROP TRIGGER IF EXISTS catalog_search_variant_insert ON catalog_variant;
DROP FUNCTION IF EXISTS catalog_search_barcode_changed();
DROP FUNCTION IF EXISTS catalog_search_category_updated();
DROP FUNCTION IF EXISTS catalog_search_product_updated();
DROP FUNCTION IF EXISTS catalog_search_variant_updated();
DROP FUNCTION IF EXISTS catalog_search_variant_inserted();
DROP FUNCTION IF EXISTS catalog_search_refresh(bigint[]);
DROP FUNCTION IF EXISTS catalog_search_upsert(bigint[]);
DROP FUNCTION IF EXISTS catalog_search_documents(bigint[]);
DROP FUNCTION IF EXISTS catalog_search_vector(text, "char");
DROP FUNCTION IF EXISTS catalog_search_lexemes(text);
DROP FUNCTION IF EXISTS catalog_search_fold(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_api_key_kind"),
    ]

    operations = [
        migrations.CreateModel(
            name="VariantSearch",
            fields=[
                (
                    "variant",
                    models.OneToOneField(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="catalog.variant",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField(editable=False)),
            ],
            options={
                "verbose_name": "variant search document",
                "verbose_name_plural": "variant search documents",
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name="variant_search_document_idx"
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="variant",
            index=models.Index(
                django.db.models.functions.text.Upper("sku"), name="variant_sku_upper_idx"
            ),
        ),
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]
