from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from unicommerce.access.document import permissions_document

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "permissions.md"


class Command(BaseCommand):
    help = "Write docs/permissions.md from the permission table (--check: only compare)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail if the file differs")

    def handle(self, *args, **options):
        text = permissions_document()
        if options["check"]:
            if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
                raise CommandError(f"{DOCUMENT} is out of date: run manage.py permissions_doc")
            self.stdout.write("docs/permissions.md matches the permission table")
            return
        DOCUMENT.write_text(text)
        self.stdout.write(f"wrote {DOCUMENT}")
