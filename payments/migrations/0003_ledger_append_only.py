"""Payment operations are append-only: the database itself refuses UPDATE and DELETE.
Cash payments recorded before the ledger existed are captured in full."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payments_operation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment operations are append-only: % refused on payments_paymentoperation', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER payments_operation_append_only
    BEFORE UPDATE OR DELETE ON payments_paymentoperation
    FOR EACH ROW EXECUTE FUNCTION payments_operation_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_operation_append_only ON payments_paymentoperation;
DROP FUNCTION IF EXISTS payments_operation_append_only();
"""

CAPTURED_CASH = """
UPDATE payments_payment SET captured_amount = amount
WHERE status = 'captured' AND captured_amount = 0;
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_operations_ledger")]
    operations = [
        migrations.RunSQL(CAPTURED_CASH, migrations.RunSQL.noop),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
