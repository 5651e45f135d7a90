from django.core.management.base import BaseCommand

from inventory.services.locations import channel_stock_rebuild


class Command(BaseCommand):
    help = "Recompute what every channel may sell of every variant (normally kept by the worker)."

    def handle(self, *args, **options):
        changed = channel_stock_rebuild()
        self.stdout.write(f"{changed} channel figures changed")
