from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from unicommerce.demo.accounts import DEMO_WEB_PUBLISHABLE_KEY, DEMO_WEB_SECRET_KEY
from unicommerce.demo.data import demo_load


class Command(BaseCommand):
    help = "Load the demo chain (idempotent: running it again adds nothing)."

    def handle(self, *args, **options):
        if (settings.SETTINGS_MODULE or "").endswith(".production"):
            raise CommandError("Demo data is for development machines, not production.")
        result = demo_load()
        self.stdout.write(
            f"demo data: {result['products']} products, {result['variants']} variants "
            f"({result['variants_created']} new), "
            f"{result['stock_levels_seeded']} stock levels seeded"
        )
        self.stdout.write(f"demo web-channel publishable key: {DEMO_WEB_PUBLISHABLE_KEY}")
        self.stdout.write(f"demo web-channel secret key: {DEMO_WEB_SECRET_KEY}")
