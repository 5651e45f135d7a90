"""Small database helpers shared by every app."""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    """``id__any=[1, 2, 3]`` → ``id = ANY(%s)`` with ONE array parameter.

    Django's ``__in`` sends one placeholder per value; for the hundreds of ids of a
    catalog page the driver spends longer splitting and quoting them than PostgreSQL
    spends answering.
    """

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [[getattr(v, "pk", v) for v in value]])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
