from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = _("Point of sale")

    def ready(self) -> None:
        # Price and VAT rate changes go to the technical events log (JET) in the
        # transaction of the change: the catalogue tells its listeners (no signal).
        from pos.fiscal import catalog_log  # noqa: F401
        from pos.fiscal.version import software_version_after_migrate

        # The software version is recorded after ``migrate``: a Django signal because
        # ``post_migrate`` is the one hook Django gives there; it only records a version.
        post_migrate.connect(
            software_version_after_migrate, sender=self, dispatch_uid="pos_software_version"
        )
