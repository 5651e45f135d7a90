"""The store credit ledger is append-only: the database itself refuses UPDATE and DELETE."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION loyalty_store_credit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the store credit ledger is append-only: % refused on loyalty_storecreditentry', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER loyalty_store_credit_append_only
    BEFORE UPDATE OR DELETE ON loyalty_storecreditentry
    FOR EACH ROW EXECUTE FUNCTION loyalty_store_credit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS loyalty_store_credit_append_only ON loyalty_storecreditentry;
DROP FUNCTION IF EXISTS loyalty_store_credit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
