"""The stock ledger is append-only: the database itself refuses UPDATE and DELETE."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION inventory_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the stock ledger is append-only: % refused on inventory_stockmovement', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER inventory_ledger_append_only
    BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION inventory_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS inventory_ledger_append_only ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
