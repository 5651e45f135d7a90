"""The gift card and points ledgers are append-only, like store credit (0002): the
database itself refuses UPDATE and DELETE on them."""

from django.db import migrations

TABLES = ("loyalty_giftcardentry", "loyalty_pointsentry")

FORWARD = """
CREATE FUNCTION loyalty_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only();
"""
    for table in TABLES
)

BACKWARD = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES)
    + "DROP FUNCTION IF EXISTS loyalty_ledger_append_only();\n"
)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0004_gift_cards_points_promotions")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
