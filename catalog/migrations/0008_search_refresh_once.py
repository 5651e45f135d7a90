"""The search rows' refresh computes each variant's document once.

``catalog_search_refresh`` joined the rows to update with the inlined document function;
with statistics that call the search table small, the planner put the documents on the
inner side of a nested loop and computed them once per (row, variant) pair: a bulk
insert of a few thousand barcodes then ran for minutes (seen in the test suite, with a
backend stuck re-planning the folding function per pair). A materialized CTE makes the
documents a set computed once, whatever the plan."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION catalog_search_refresh(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    WITH d AS MATERIALIZED (SELECT * FROM catalog_search_documents(ids))
    UPDATE catalog_variantsearch s
       SET product_id = d.product_id, sort_name = d.sort_name, active = d.active,
           name_document = d.name_document, document = d.document
      FROM d
     WHERE s.variant_id = d.variant_id
       AND (s.product_id, s.sort_name, s.active, s.name_document, s.document)
           IS DISTINCT FROM (d.product_id, d.sort_name, d.active, d.name_document, d.document)
$f$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION catalog_search_refresh(ids bigint[]) RETURNS void
    LANGUAGE sql AS $f$
    UPDATE catalog_variantsearch s
       SET product_id = d.product_id, sort_name = d.sort_name, active = d.active,
           name_document = d.name_document, document = d.document
      FROM catalog_search_documents(ids) d
     WHERE s.variant_id = d.variant_id
       AND (s.product_id, s.sort_name, s.active, s.name_document, s.document)
           IS DISTINCT FROM (d.product_id, d.sort_name, d.active, d.name_document, d.document)
$f$;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_search_ranking")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
