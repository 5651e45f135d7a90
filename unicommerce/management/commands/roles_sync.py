from django.core.management.base import BaseCommand

from unicommerce.access.roles import GROUP_NAMES, roles_sync


class Command(BaseCommand):
    help = "Create or update one group per staff role with exactly its permissions."

    def handle(self, *args, **options):
        groups = roles_sync()
        for role, group in groups.items():
            self.stdout.write(
                f"{GROUP_NAMES[role]}: {group.permissions.count()} permissions ({role})"
            )
